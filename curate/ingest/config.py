"""What ingest reads and how: the ``ingest`` section of a pipeline config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IngestConfig(BaseModel):
    """What to ingest and how. Stored with the run in ``runs.config``."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="file, directory, glob, or hf://org/name?config=C&split=S")
    source_name: str | None = Field(None, description="dataset name for every row; default: each file's name")
    format: str | None = Field(None, description="adapter to force; default: detected per file")
    column_map: dict[str, str] = Field(default_factory=dict, description="canonical name -> source column")
    include_ties: bool = Field(False, description="pair equally rated responses as ties (rated layouts)")
    detect_language: bool = Field(True, description="detect the prompt language when the source has none")
    max_row_bytes: int = Field(1_000_000, description="rows larger than this are rejected as too_large")
    batch_rows: int = Field(20_000, description="rows per write batch; bounds memory")
    sample_rows: int = Field(50, description="rows read to detect a file's format")
