"""What a release and an export are asked to do: the ``release`` and ``export`` stage configs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from curate.release.policy import ReleasePolicy, load_policy

FORMATS = ("trl", "openrlhf", "jsonl", "hub")
MAX_SHARD_BYTES = 500_000_000


class ReleaseConfig(BaseModel):
    """One release to materialize. Stored with the run in ``runs.config``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="release name: letters, digits, '.', '_', '-'; never reused (also the Hub tag)")
    parent: str | None = Field(None, description="the release this one derives from; it must exist")
    policy: ReleasePolicy = Field(default_factory=load_policy, description="what to keep, flip and drop, and the splits; "
                                  "default: the packaged curate/policies/default.yaml")


class ExportConfig(BaseModel):
    """One export of a release as trainer-ready files. Stored with the run in ``runs.config``."""

    model_config = ConfigDict(extra="forbid")

    release: str = Field(description="the release to export")
    format: str = Field(description=f"file layout: {', '.join(FORMATS)}")
    out_dir: str = Field(description="folder the files go in (hub: under data/)")
    max_shard_bytes: int = Field(MAX_SHARD_BYTES, ge=1, description="hub format: text bytes per Parquet shard at most")
    overwrite: bool = Field(False, description="replace the files of an earlier export in out_dir instead of refusing")
