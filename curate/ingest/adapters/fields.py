"""What every adapter shares: the canonical pair, the reject, and the field checks.

An adapter turns one raw record into :class:`Candidate` pairs, or raises
:class:`Reject` with a reason code; the checks here (``text``, ``messages``,
``check_prompt``, ...) raise the reject that names the field at fault, so every
layout rejects the same mistake with the same code. ``pair_by_score`` pairs
rated responses (UltraFeedback completions, HelpSteer2 rows of one prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def strength(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Reject(RejectReason.BAD_STRENGTH, f"strength {value!r} is not a number") from None
    if number != int(number) or not -3 <= number <= 3:
        raise Reject(RejectReason.BAD_STRENGTH, f"strength {value!r} is not an integer in -3..3")
    return int(number)


def ratings(value: object, what: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"overall": value}
    try:
        return {str(k): float(v) for k, v in value.items() if v is not None}
    except (TypeError, ValueError):
        raise Reject(RejectReason.BAD_RATING, f"{what} {value!r} holds a non-numeric rating") from None


def common_fields(record: dict, used: set[str]) -> dict:
    """Fields every layout may carry, plus ``meta`` with whatever no adapter column claimed."""
    claimed = used | _COMMON_KEYS
    annotator = record.get("annotator") or record.get("annotator_id") or record.get("worker_id")
    language = record.get("language") or record.get("lang")
    return {
        "language": str(language).lower() if language else None,
        "annotator": str(annotator) if annotator is not None else None,
        "justification": record.get("justification") or record.get("rationale"),
        "meta": {k: v for k, v in record.items() if k not in claimed},
    }


def pair_by_score(responses: list[Response], options: Options) -> list[Candidate]:
    """The best-scored response against each lower-scored one.

    Responses that equal the best score become ties when ``include_ties`` is
    set and are skipped otherwise. No pair at all (one response, or all equal
    without ties) rejects the row with ``equal_ratings`` or ``unpaired_response``.
    """
    if len(responses) < 2:
        raise Reject(RejectReason.UNPAIRED_RESPONSE, "a prompt needs at least two responses to form a pair")
    ranked = sorted(responses, key=lambda r: -r.score)
    best = ranked[0]
    pairs = []
    for other in ranked[1:]:
        if other.text == best.text:
            continue
        tie = other.score == best.score
        if tie and not options.include_ties:
            continue
        pairs.append(
            Candidate(
                prompt=best.prompt,
                chosen=best.text,
                rejected=other.text,
                tie=tie,
                strength=0 if tie else None,
                chosen_ratings=best.ratings,
                rejected_ratings=other.ratings,
                meta={"chosen": best.meta, "rejected": other.meta},
            )
        )
    if not pairs:
        raise Reject(RejectReason.EQUAL_RATINGS, f"all {len(responses)} responses share the best score {best.score}")
    return pairs
