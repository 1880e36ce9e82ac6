"""Noise: how likely each pair's label is wrong, by several methods, as evidence rows."""

from curate.noise.stage import METHODS, STAGE, NoiseConfig, refusal_markers, run

__all__ = ["METHODS", "STAGE", "NoiseConfig", "refusal_markers", "run"]
