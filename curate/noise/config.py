"""Which noise methods run and how: the ``noise`` section of a pipeline config."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate import embed
from curate.noise import checks
from curate.noise.methods import METHODS, FusionConfig
from curate.noise.rm import RMConfig


class NoiseConfig(BaseModel):
    """Which methods run and how. Stored with the run in ``runs.config``; its hash is on every score row."""

    model_config = ConfigDict(extra="forbid")

    methods: list[str] = Field(list(METHODS), description=f"methods to score and write: {', '.join(METHODS)}")
    embedding: embed.EmbedConfig = Field(default_factory=embed.EmbedConfig, description="embedding model the features come from")
    rm: RMConfig = Field(default_factory=RMConfig, description="reward heads: folds, members, training")
    fusion: FusionConfig = Field(default_factory=FusionConfig, description="how the fused score weighs judge and human evidence")
    judge_attributes: list[str] | None = Field(None, description="judge attributes the judge signal reads; null = all")
    near_identical_cosine: float = Field(0.97, gt=0, le=1, description="responses at least this similar are flagged near-identical")

    @field_validator("methods")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(METHODS))
        if unknown or not value:
            raise ValueError(f"unknown or no methods {unknown}; choose from {', '.join(METHODS)}")
        return [m for m in METHODS if m in value]

    def config_hash(self) -> str:
        """The hash on every score row: this config and the refusal-marker file it checks with."""
        return hashlib.sha256((self.model_dump_json() + checks.markers_text()).encode()).hexdigest()[:16]
