"""Evaluating releases (stage ``train_rm``): train a reward model on one and score it on held-out pairs."""

from curate.evaluate.config import TrainRMConfig
from curate.evaluate.stage import STAGE, run
from curate.evaluate.train_rm import TrainRMError

__all__ = ["STAGE", "TrainRMConfig", "TrainRMError", "run"]
