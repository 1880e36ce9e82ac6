"""Noise: how likely each pair's label is wrong, by several methods, as evidence rows."""

from curate.noise.checks import refusal_markers
from curate.noise.config import NoiseConfig
from curate.noise.methods import METHODS
from curate.noise.stage import READS, STAGE, run

__all__ = ["METHODS", "READS", "STAGE", "NoiseConfig", "refusal_markers", "run"]
