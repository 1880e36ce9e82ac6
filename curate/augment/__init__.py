"""Augmentations: causal and neutral synthetic pairs (Crome) and adversarial non-answer negatives, each linked to
its parent pair and generator."""

from curate.augment.config import AugmentConfig
from curate.augment.stage import READS, STAGE, run

__all__ = ["READS", "STAGE", "AugmentConfig", "run"]
