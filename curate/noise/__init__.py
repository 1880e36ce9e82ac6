"""Noise: how likely each pair's label is wrong, by several methods, as evidence rows."""

from curate.noise.checks import refusal_markers
from curate.noise.config import METHODS, FusionConfig, NoiseConfig, RMConfig
from curate.noise.stage import READS, STAGE, run

__all__ = ["METHODS", "READS", "STAGE", "FusionConfig", "NoiseConfig", "RMConfig", "refusal_markers", "run"]
