"""Judge: pairwise LLM verdicts on stored pairs, both orders, as evidence."""

from curate.judge.config import EMBEDDED_NOTICE, JudgeConfig, LimitReached
from curate.judge.stage import READS, STAGE, run

__all__ = ["EMBEDDED_NOTICE", "READS", "STAGE", "JudgeConfig", "LimitReached", "run"]
