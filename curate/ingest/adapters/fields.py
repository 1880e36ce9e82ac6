"""What every adapter shares: the canonical pair, the reject, and the field checks.

An adapter turns one raw record into :class:`Candidate` pairs, or raises
:class:`Reject` with a reason code; the checks here (``text``, ``messages``,
``check_prompt``, ...) raise the reject that names the field at fault, so every
layout rejects the same mistake with the same code. ``pair_by_score`` pairs
rated responses (UltraFeedback completions, HelpSteer2 rows of one prompt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from curate.ids import content_hash
from schemas import RejectReason

ROLES = ("system", "user", "assistant")
_COMMON_KEYS = frozenset({"language", "lang", "annotator", "annotator_id", "worker_id", "justification", "rationale"})


class Reject(Exception):
    """A record that cannot become a pair, with a machine-readable reason."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Candidate:
    """One preference pair in canonical form, before ids and dedup."""

    prompt: list[tuple[str, str]]
    chosen: str
    rejected: str
    tie: bool = False
    strength: int | None = None
    chosen_ratings: dict[str, float] | None = None
    rejected_ratings: dict[str, float] | None = None
    justification: str | None = None
    language: str | None = None
    language_detected: bool = False
    annotator: str | None = None
    meta: dict = field(default_factory=dict)


@dataclass(slots=True)
class Response:
    """One rated response to a prompt (a row of a per-response layout)."""

    prompt: list[tuple[str, str]]
    text: str
    score: float
    ratings: dict[str, float]
    meta: dict


@dataclass(frozen=True)
class Options:
    """Adapter options that change how pairs are formed."""

    include_ties: bool = False


def text(value: object, what: str) -> str:
    """A non-empty string, or a reject that says which field was wrong."""
    if value is None:
        raise Reject(RejectReason.MISSING_FIELD, f"{what} is missing")
    if not isinstance(value, str):
        raise Reject(RejectReason.NON_STRING_CONTENT, f"{what} is {type(value).__name__}, not a string")
    if not value.strip():
        raise Reject(RejectReason.EMPTY_CONTENT, f"{what} is empty")
    return value


def require(record: dict, key: str) -> object:
    if record.get(key) is None:
        raise Reject(RejectReason.MISSING_FIELD, f"field {key!r} is missing")
    return record[key]


def messages(value: object, what: str) -> list[tuple[str, str]]:
    """Chat messages as ``(role, content)`` pairs; a bare string is one user message."""
    if isinstance(value, str):
        return [("user", text(value, what))]
    if not isinstance(value, list) or not value:
        raise Reject(RejectReason.MISSING_FIELD, f"{what} must be a string or a non-empty list of messages")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise Reject(RejectReason.MISSING_FIELD, f"{what}[{i}] is not a message object")
        role = message.get("role")
        if role not in ROLES:
            raise Reject(RejectReason.BAD_ROLE, f"{what}[{i}] has role {role!r}; expected one of {ROLES}")
        out.append((role, text(message.get("content"), f"{what}[{i}].content")))
    return out


def check_prompt(prompt: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An optional system message, then user/assistant turns alternating, ending with the user."""
    roles = [role for role, _ in prompt]
    if roles and roles[0] == "system":
        roles = roles[1:]
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(roles))]
    if not roles or roles != expected or roles[-1] != "user":
        raise Reject(RejectReason.BAD_ROLE_ORDER, f"prompt roles {[r for r, _ in prompt]} do not alternate user/assistant ending with user")
    return prompt


def response(value: object, what: str) -> str:
    """One assistant response: a string, a message, or a one-message list."""
    if isinstance(value, list):
        if len(value) != 1:
            raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} holds {len(value)} messages; expected one assistant message")
        value = value[0]
    if isinstance(value, dict):
        if value.get("role", "assistant") != "assistant":
            raise Reject(RejectReason.BAD_ROLE, f"{what} has role {value.get('role')!r}; expected 'assistant'")
        value = value.get("content")
    return text(value, what)


def number(value: object, what: str, reason: RejectReason) -> float:
    """A finite number, or a reject with ``reason``: NaN and infinity (what pandas writes for a missing
    integer in Parquet and CSV), booleans and text that is not a number never pass as values."""
    if isinstance(value, bool):
        raise Reject(reason, f"{what} {value!r} is a boolean, not a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise Reject(reason, f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise Reject(reason, f"{what} {value!r} is not a finite number")
    return number


def strength(value: object) -> int | None:
    if value is None or value == "":
        return None
    number_ = number(value, "strength", RejectReason.BAD_STRENGTH)
    if number_ != int(number_) or not -3 <= number_ <= 3:
        raise Reject(RejectReason.BAD_STRENGTH, f"strength {value!r} is not an integer in -3..3")
    return int(number_)


_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", ""})


def flag(value: object) -> bool:
    """A tie flag: a boolean, 0/1, or text such as true/false, yes/no, 1/0 (any case); missing is no tie."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Reject(RejectReason.BAD_TIE, f"tie {value!r} is not a boolean (true/false, 1/0, yes/no)")


def ratings(value: object, what: str) -> dict[str, float] | None:
    """Named ratings (a bare value is ``overall``); missing ones (null, empty text) are left out, any other
    value that is not a finite number rejects the row with ``bad_rating``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"overall": value}
    out = {str(k): number(v, f"{what} {k!r}", RejectReason.BAD_RATING) for k, v in value.items() if v is not None and v != ""}
    return out or None


def optional_text(value: object, what: str) -> str | None:
    """An optional free-text field (justification): missing (null, empty, NaN) is None, a non-string rejects."""
    if _missing(value):
        return None
    if not isinstance(value, str):
        raise Reject(RejectReason.NON_STRING_CONTENT, f"{what} is {type(value).__name__}, not a string")
    return value


def _missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _first(record: dict, *keys: str) -> object:
    return next((record[k] for k in keys if not _missing(record.get(k))), None)


def _label(value: object, what: str) -> str | None:
    """An identifier-like field (annotator, language): text or an integer-valued number, as text."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Reject(RejectReason.NON_STRING_CONTENT, f"{what} is {type(value).__name__}, not a string")
    return str(value)


def common_fields(record: dict, used: set[str]) -> dict:
    """Fields every layout may carry, plus ``meta`` with whatever no adapter column claimed."""
    claimed = used | _COMMON_KEYS
    language = _label(_first(record, "language", "lang"), "language")
    return {
        "language": language.lower() if language else None,
        "annotator": _label(_first(record, "annotator", "annotator_id", "worker_id"), "annotator"),
        "justification": optional_text(_first(record, "justification", "rationale"), "justification"),
        "meta": {k: v for k, v in record.items() if k not in claimed},
    }


def pair_by_score(responses: list[Response], options: Options) -> list[Candidate]:
    """The best-scored response against each lower-scored one (see :func:`score_pairs`); no pair at all
    (one response, all equal without ties, all the same text) rejects the record."""
    if len(responses) < 2:
        raise Reject(RejectReason.UNPAIRED_RESPONSE, "a prompt needs at least two responses to form a pair")
    pairs, rejects = score_pairs(responses, options)
    if not pairs:
        raise rejects[_best(responses)]
    return [candidate for _, _, candidate in pairs]


def score_pairs(responses: list[Response], options: Options) -> tuple[list[tuple[int, int, Candidate]], list[Reject | None]]:
    """Pairs of rated responses as ``(chosen index, rejected index, candidate)``, and for each response the
    reject that says why it is in no pair (``None`` when it is in one).

    The best-scored response (the first of equals) is paired against each lower-scored one. A response
    with the best's text (after normalization) is in no pair (``identical_responses``); one rated equal
    to the best forms a tie when ``include_ties`` is set and is in no pair otherwise (``equal_ratings``).
    """
    if len(responses) < 2:
        reject = Reject(RejectReason.UNPAIRED_RESPONSE, "a prompt needs at least two responses to form a pair")
        return [], [reject] * len(responses)
    b = _best(responses)
    best = responses[b]
    best_hash = content_hash(best.text)
    pairs: list[tuple[int, int, Candidate]] = []
    rejects: list[Reject | None] = [None] * len(responses)
    for i in sorted(range(len(responses)), key=lambda i: -responses[i].score):
        other = responses[i]
        if i == b:
            continue
        tie = other.score == best.score
        if content_hash(other.text) == best_hash:
            rejects[i] = Reject(RejectReason.IDENTICAL_RESPONSES, "same text as the best-rated response of its prompt")
        elif tie and not options.include_ties:
            rejects[i] = Reject(RejectReason.EQUAL_RATINGS,
                                f"rated {other.score:g}, equal to the best response of its prompt; --include-ties pairs it as a tie")
        else:
            pairs.append((b, i, Candidate(
                prompt=best.prompt,
                chosen=best.text,
                rejected=other.text,
                tie=tie,
                strength=0 if tie else None,
                chosen_ratings=best.ratings,
                rejected_ratings=other.ratings,
                meta={"chosen": best.meta, "rejected": other.meta},
            )))
    if not pairs:
        equal = any(r is not None and r.reason is RejectReason.EQUAL_RATINGS for r in rejects)
        rejects[b] = (Reject(RejectReason.EQUAL_RATINGS, f"all {len(responses)} responses share the best score {best.score:g}")
                      if equal else Reject(RejectReason.IDENTICAL_RESPONSES, f"all {len(responses)} responses are the same text"))
    return pairs, rejects


def _best(responses: list[Response]) -> int:
    """The index of the best-scored response; the first of equals."""
    return max(range(len(responses)), key=lambda i: responses[i].score)
