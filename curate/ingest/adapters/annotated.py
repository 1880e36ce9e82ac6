"""What annotation-tool exports share: two responses to one prompt and people's verdicts on them.

A Label Studio task or an Argilla record names a prompt and two responses, ``a`` and ``b`` (left and right,
response 1 and 2), and carries zero or more annotations. Each annotation that states a preference is a
:class:`Vote`: the preference of ``a`` over ``b`` on -3..3 (> 0 prefers ``a``, 0 a tie). The ingest adapters
(``label-studio``, ``argilla``) make one pair of a record from its annotators' majority (:func:`majority_pair`);
the annotation import (``curate.annotate.interchange``) keeps every vote as an :class:`External` verdict.

A bare choice (Label Studio's Pairwise tag, "Response 1" without a degree, a ranking) states no strength: it reads
as 2 ("better" on the HelpSteer2 scale, where 1 is slightly and 3 much better) with ``graded`` false, and a pair
made of such votes has no strength.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from curate.ingest.adapters.fields import Candidate, Reject, check_prompt, common_fields, messages, response
from schemas import RejectReason

PROMPT_KEYS = ("messages", "prompt", "conversation", "chat", "instruction", "question", "query", "input", "context", "text")
"""Where a record's prompt may be, first match wins: a string (one user message) or a list of messages."""
RESPONSE_KEYS = (
    ("left", "right"), ("response1", "response2"), ("response_1", "response_2"), ("response_a", "response_b"),
    ("answer1", "answer2"), ("answer_1", "answer_2"), ("answer_a", "answer_b"), ("completion_1", "completion_2"),
    ("completion_a", "completion_b"), ("generation_1", "generation_2"), ("text1", "text2"), ("chosen", "rejected"),
    ("a", "b"),
)
"""The names two responses may have, as (a, b), first match wins."""
BARE = 2  # the strength a choice without a stated degree reads as

_TIE_WORDS = frozenset({"tie", "tied", "equal", "equally", "same", "both", "neither", "draw", "even"})
_A_WORDS = frozenset({"1", "left", "first", "one"})
_B_WORDS = frozenset({"2", "right", "second", "two"})
_STRONG = frozenset({"much", "far", "significantly", "strongly", "clearly", "definitely", "vastly", "way", "lot"})
_WEAK = frozenset({"slightly", "somewhat", "marginally", "bit", "little", "barely"})
_ARTICLE = re.compile(r"\ba (?=bit|little|lot)\b")


@dataclass(frozen=True, slots=True)
class Vote:
    """One annotation's verdict: the preference of ``a`` over ``b``."""

    preference: int  # -3..3: > 0 prefers a, < 0 prefers b, 0 a tie
    graded: bool  # the scale stated a strength (False: a bare choice, read as +-BARE)
    annotator: str | None
    annotation_id: str
    reason: str | None = None
    annotated_at: datetime | None = None
    lead_time: float | None = None


@dataclass(frozen=True, slots=True)
class External:
    """One verdict from an export, with the comparison it is about: what ``curate annotate import`` reads."""

    prompt: list[tuple[str, str]]
    a: str
    b: str
    preference: int  # -3..3: > 0 prefers a, < 0 prefers b, 0 a tie
    graded: bool
    annotator: str | None
    annotation_id: str
    reason: str | None = None
    annotated_at: datetime | None = None
    lead_time: float | None = None
    record_id: str | None = None
    batch_id: str | None = None  # the curate batch a task came from (``data.batch_id``), when curate pushed it


@dataclass(slots=True)
class Annotated:
    """One export record: the comparison, its votes, and the annotations that could not be read (with why)."""

    prompt: list[tuple[str, str]]
    a: str
    b: str
    record_id: str | None
    votes: list[Vote] = field(default_factory=list)
    problems: list[Reject] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # the record's other fields (language, ids the tool kept), as read

    def externals(self) -> list[External]:
        return [External(prompt=self.prompt, a=self.a, b=self.b, preference=v.preference, graded=v.graded,
                          annotator=v.annotator, annotation_id=v.annotation_id, reason=v.reason,
                          annotated_at=v.annotated_at, lead_time=v.lead_time, record_id=self.record_id,
                          batch_id=batch if isinstance(batch := self.extra.get("batch_id"), str) else None) for v in self.votes]


def comparison(values: dict, what: str) -> tuple[list[tuple[str, str]], str, str, tuple[str, str], set[str]]:
    """The prompt, both responses, the responses' names and every key used, from a record's data or fields."""
    if not isinstance(values, dict):
        raise Reject(RejectReason.MISSING_FIELD, f"{what} is not an object")
    prompt_key = next((k for k in PROMPT_KEYS if values.get(k) is not None), None)
    names = next(((x, y) for x, y in RESPONSE_KEYS if x in values and y in values), None)
    if names is None:
        known = ", ".join("/".join(n) for n in RESPONSE_KEYS)
        raise Reject(RejectReason.MISSING_FIELD, f"{what} has no two responses (one of {known})")
    if prompt_key is None or prompt_key in names:
        raise Reject(RejectReason.MISSING_FIELD, f"{what} has no prompt (one of {', '.join(PROMPT_KEYS)})")
    prompt = check_prompt(messages(values[prompt_key], f"{what}.{prompt_key}"))
    a, b = (response(values[n], f"{what}.{n}") for n in names)
    return prompt, a, b, names, {prompt_key, *names}


def choice_preference(label: object, names: tuple[str, str] = ("", "")) -> tuple[int, bool] | None:
    """A choice label as (preference of a over b, graded), or None when it names no side.

    A number in -3..3 is the curate and HelpSteer2 scale (negative = a, the left response, better); text names
    a side ("Response 1", "left", "A", a response's own name), a tie ("Tie", "Both equal"), and optionally a
    degree ("slightly" 1, "much" 3)."""
    if isinstance(label, bool) or label is None:
        return None
    if isinstance(label, (int, float)) or (isinstance(label, str) and re.fullmatch(r"\s*[+-]?\d+(\.0*)?\s*", label)):
        value = float(label)
        return (-int(value), True) if value.is_integer() and -3 <= value <= 3 else None
    if not isinstance(label, str):
        return None
    if label.strip() in names and label.strip():
        return (BARE if label.strip() == names[0] else -BARE), False
    words = re.findall(r"[a-z0-9]+", _ARTICLE.sub("", label.lower()))
    if not words:
        return None
    tokens = set(words)
    if tokens & _TIE_WORDS:
        return 0, True
    a_side, b_side = bool(tokens & _A_WORDS), bool(tokens & _B_WORDS)
    if not a_side and not b_side:  # single letters only when nothing else names a side ("A is better")
        a_side, b_side = "a" in tokens, "b" in tokens
    if a_side == b_side:
        return None
    degree = 3 if tokens & _STRONG else 1 if tokens & _WEAK else None
    sign = 1 if a_side else -1
    return (sign * degree, True) if degree else (sign * BARE, False)


def compare_scores(score_a: float, score_b: float) -> tuple[int, bool]:
    """Two ratings, one per response, as a vote: the higher-rated side, or a tie when equal (no strength)."""
    if score_a == score_b:
        return 0, True
    return (BARE if score_a > score_b else -BARE), False


def majority_pair(record: Annotated, source: dict, used: set[str]) -> Candidate:
    """One pair from a record's votes: one vote per annotator (their last), the strict plurality of
    (a, b, tie) wins; chosen is the side it preferred (a tie keeps a as chosen), strength the median (low)
    of its votes' strengths when all are graded. No vote, or a split with no plurality, rejects the record."""
    votes = _last_per_annotator(record.votes)
    if not votes:
        detail = "; ".join(p.detail for p in record.problems) or "no annotation"
        raise Reject(record.problems[0].reason if record.problems else RejectReason.MISSING_FIELD,
                     f"record {record.record_id} has no annotation with a preference ({detail})")
    sides = Counter(_side(v.preference) for v in votes)
    (top, n), *rest = sides.most_common()
    if rest and rest[0][1] == n:
        said = ", ".join(f"{sides[s]} {label}" for s, label in ((1, "prefer a"), (-1, "prefer b"), (0, "tie")))
        raise Reject(RejectReason.EQUAL_RATINGS, f"record {record.record_id}: annotators split ({said}); no majority")
    winners = [v for v in votes if _side(v.preference) == top]
    if top == 0:
        strength = 0
    else:
        strength = statistics.median_low(abs(v.preference) for v in winners) if all(v.graded for v in winners) else None
    annotators = sorted({v.annotator for v in votes if v.annotator is not None})
    reasons = list(dict.fromkeys(v.reason.strip() for v in winners if v.reason and v.reason.strip()))
    fields = common_fields(source, used)
    meta = {**fields["meta"], "record_id": record.record_id,
            "votes": [{"annotator": v.annotator, "preference": v.preference} for v in votes]}
    chosen, rejected = (record.b, record.a) if top < 0 else (record.a, record.b)
    return Candidate(prompt=record.prompt, chosen=chosen, rejected=rejected, tie=top == 0, strength=strength,
                     justification="\n".join(reasons) or None, language=fields["language"],
                     annotator=annotators[0] if len(annotators) == 1 else None, meta=meta)


def timestamp(value: object) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset), or None when missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def identifier(value: object) -> str | None:
    """An id (text or a whole number) as text."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, (str, int, float)) else None


def _side(preference: int) -> int:
    return (preference > 0) - (preference < 0)


def _last_per_annotator(votes: list[Vote]) -> list[Vote]:
    """Each annotator's last vote (by time when both are known, else file order); votes without an annotator each count."""
    by_annotator: dict[object, Vote] = {}
    for i, vote in enumerate(votes):
        key = vote.annotator if vote.annotator is not None else ("#", i)
        seen = by_annotator.get(key)
        if seen is None or not _earlier(vote.annotated_at, seen.annotated_at):
            by_annotator[key] = vote
    return list(by_annotator.values())


def _earlier(this: datetime | None, that: datetime | None) -> bool:
    if this is None or that is None or (this.tzinfo is None) != (that.tzinfo is None):
        return False
    return this < that
