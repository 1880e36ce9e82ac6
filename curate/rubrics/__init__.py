"""Rubrics: contrastive rubric generation with a label-consistency filter (OpenRubrics), and binary principles
read out of feedback text (RLBFF), each its own stage (``STAGE`` and ``run``; ``PRINCIPLES_STAGE`` and
``run_principles``)."""

from curate.rubrics.config import EMBEDDED_NOTICE, PrinciplesConfig, RubricsConfig
from curate.rubrics.principles_stage import STAGE as PRINCIPLES_STAGE
from curate.rubrics.principles_stage import run as run_principles
from curate.rubrics.stage import READS, STAGE, run

__all__ = ["EMBEDDED_NOTICE", "PRINCIPLES_STAGE", "READS", "STAGE", "PrinciplesConfig", "RubricsConfig", "run", "run_principles"]
