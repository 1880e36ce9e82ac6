"""Judge: pairwise LLM verdicts on stored pairs, both orders, as evidence."""

from curate.judge.config import EMBEDDED_NOTICE, JudgeConfig, LimitReached
from curate.judge.stage import STAGE, run

__all__ = ["EMBEDDED_NOTICE", "STAGE", "JudgeConfig", "LimitReached", "run"]
