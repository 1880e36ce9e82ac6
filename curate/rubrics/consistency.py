"""The consistency filter (OpenRubrics): keep a rubric only if a judge applying it reproduces the labels.

Measure apart from decide: the checks (a rubric-conditioned judge's verdict on each of the prompt's labeled
pairs, in both orders) are evidence rows (``rubric_checks``); ``decide`` is the pure rule over them. A check is
*correct* when both orders say ``chosen``: a verdict that flips with the order reproduces nothing. A rubric is
accepted when it gets its own (current) pair right and its accuracy over the checked pairs is at least
``min_accuracy``; otherwise it is rejected with one reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from schemas.vocab import RubricReason, RubricStatus, Verdict


@dataclass(frozen=True)
class Check:
    """The judge's verdict on one checked pair, each order the majority of its samples (None: no majority or
    no readable verdict)."""

    pair_id: str
    current: bool
    verdict_chosen_as_a: str | None
    verdict_chosen_as_b: str | None

    @property
    def verdict(self) -> str | None:
        """The verdict when both orders agree, else None."""
        return self.verdict_chosen_as_a if self.verdict_chosen_as_a == self.verdict_chosen_as_b else None

    @property
    def correct(self) -> bool:
        return self.verdict == Verdict.CHOSEN


@dataclass(frozen=True)
class Decision:
    """What the filter made of one rubric; ``accuracy`` and ``current_correct`` are None when nothing was checked."""

    status: RubricStatus
    reason: RubricReason | None
    accuracy: float | None
    pairs_checked: int
    correct: int
    current_correct: bool | None


def order_verdict(verdicts: list[str | None]) -> str | None:
    """One order's verdict: the strict majority of its readable sample verdicts (as ``judge_pair_verdicts``)."""
    readable = [v for v in verdicts if v is not None]
    if not readable:
        return None
    verdict, votes = Counter(readable).most_common(1)[0]
    return verdict if votes * 2 > len(readable) else None


def decide(checks: list[Check], *, min_accuracy: float) -> Decision:
    """Accepted, or rejected with its reason: the current pair unchecked (a limit stopped the judge), the
    current pair wrong, or an accuracy below ``min_accuracy``."""
    current = next((c for c in checks if c.current), None)
    if current is None:
        return Decision(RubricStatus.REJECTED, RubricReason.NOT_CHECKED, None, len(checks), sum(c.correct for c in checks), None)
    correct = sum(c.correct for c in checks)
    accuracy = correct / len(checks)
    reason = (RubricReason.CURRENT_PAIR_WRONG if not current.correct
              else RubricReason.LOW_ACCURACY if accuracy < min_accuracy else None)
    status = RubricStatus.ACCEPTED if reason is None else RubricStatus.REJECTED
    return Decision(status, reason, accuracy, len(checks), correct, current.correct)


def rejected(reason: RubricReason) -> Decision:
    """The decision on an attempt that never reached the judge (no request answer, no readable rubric)."""
    return Decision(RubricStatus.REJECTED, reason, None, 0, 0, None)
