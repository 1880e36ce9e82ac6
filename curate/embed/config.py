"""Which model embeds the texts, and how: the ``embed`` section of a pipeline config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.embed.encoders import DEFAULT_MODEL, default_backend


class EmbedConfig(BaseModel):
    """Which model embeds the texts, and how. Stored with the run in ``runs.config``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(DEFAULT_MODEL, description="packaged model name, local sentence-transformers folder, or hub id")
    backend: Literal["auto", "torch-bf16", "onnx", "torch", "onnx-int8", "torch-int8"] = Field(
        "auto", validate_default=True, description="auto (torch-bf16 on a CPU with bf16 instructions, else onnx; stored resolved), "
        "torch-bf16 (the model in bfloat16: the fastest with every cosine >= 0.99 to fp32 in "
        "benchmarks/results/embed.md, on a CPU with bf16 instructions), onnx (fused fp32 graph), torch (plain fp32 encode, "
        "the reference), onnx-int8 and torch-int8 (dynamic int8: faster, but cosines below 0.99)")
    @field_validator("backend")
    @classmethod
    def _resolve_auto(cls, backend: str) -> str:
        """``auto`` becomes the backend this machine runs, so the run's config and model id name it."""
        return default_backend() if backend == "auto" else backend

    batch_size: int = Field(32, ge=1, le=4096, description="texts per forward pass (and per progress tick)")
    chunk_size: int = Field(4096, ge=1, description="texts read, encoded and written together; bounds memory")
    max_seq_length: int | None = Field(None, ge=8, description="word pieces kept per text; default the model's own (256)")
    threads: int | None = Field(None, ge=1, description="torch / onnxruntime threads; default (and at most) the cores this process may use")
    cache_dir: str | None = Field(None, description="where exported ONNX files live; default $CURATE_CACHE_DIR or ~/.cache/curate")
    allow_download: bool = Field(False, description="allow fetching a hub model; off: everything loads offline")
