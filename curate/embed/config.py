"""Which model embeds the texts, and how: the ``embed`` section of a pipeline config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate.embed.encoders import DEFAULT_MODEL


class EmbedConfig(BaseModel):
    """Which model embeds the texts, and how. Stored with the run in ``runs.config``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(DEFAULT_MODEL, description="packaged model name, local sentence-transformers folder, or hub id")
    backend: Literal["onnx", "torch", "onnx-int8", "torch-int8"] = Field(
        "onnx", description="onnx (fused fp32, fast, cosine 1.0 to torch), torch (fp32 reference), "
        "onnx-int8 (faster, but min cosine ~0.97 to fp32), torch-int8")
    batch_size: int = Field(32, ge=1, le=4096, description="texts per forward pass (and per progress tick)")
    chunk_size: int = Field(4096, ge=1, description="texts read, encoded and written together; bounds memory")
    max_seq_length: int | None = Field(None, ge=8, description="word pieces kept per text; default the model's own (256)")
    threads: int | None = Field(None, ge=1, description="onnxruntime threads; default all cores")
    cache_dir: str | None = Field(None, description="where exported ONNX files live; default $CURATE_CACHE_DIR or ~/.cache/curate")
    allow_download: bool = Field(False, description="allow fetching a hub model; off: everything loads offline")
