"""Reading a judge's answer: the verdict JSON, a forgiving fallback, and P(verdict) from logprobs.

The judge is asked for JSON against ``VERDICT_SCHEMA`` (winner first, so an
answer cut off by ``max_tokens`` still carries its verdict). Servers without a
JSON-schema mode, and small models, still wrap it in prose, code fences or
half-finished objects, so parsing tries, in order: the whole text as JSON,
every balanced ``{...}`` in the text, a ``"winner": "X"`` fragment, then
verdict phrases ("[[A]]", "Winner: B", "Response A is better", a bare "tie").
An answer naming two different winners is ambiguous and does not parse: a
wrong verdict is worse than a re-ask.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import orjson

from schemas.vocab import Position

VERDICT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": [position.value for position in Position]},
        "confidence": {"type": "number"},
        "rationale": {"type": "string"},
    },
    "required": ["winner", "confidence", "rationale"],
    "additionalProperties": False,
}
"""What the judge must answer; the schema sent in the request's ``response_format``."""

_WINNER_KEYS = ("winner", "verdict", "preferred", "preference", "better", "choice", "answer", "best")
_CONFIDENCE_KEYS = ("confidence", "strength", "certainty", "score")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "justification")
_WINNER_FRAGMENT = re.compile(r'"(?:winner|verdict)"\s*:\s*"([^"]{1,40})"', re.IGNORECASE)
_LABEL = r"(?:(?i:response|assistant|option|answer)\s*\(?([AaBb])\b|\(?(A|B)\b|(?:a\s+)?((?i:tie))\b)"
"""A position after a cue word: "Response a", "(B)", "A", "tie"; a bare lowercase "a" is the article."""
_PHRASES = (
    re.compile(r"\[\[\s*(A|B|(?i:tie))\s*\]\]"),
    re.compile(r"(?i:\b(?:winner|verdict|preferred|better response|final answer))\s*(?:is|:|=)\s*\**\s*" + _LABEL),
    re.compile(r"(?i:\b(?:response|assistant|option))\s*\(?([AaBb])\)?\s+(?i:is\s+(?:better|preferred|superior|the winner))"),
    re.compile(r"(?i:\b(?:it'?s|it is|this is|result is)\s+a\s+(tie)\b)"),
)
_BARE = re.compile(r"^\W*(?:response\s+)?(A|B|tie)\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedVerdict:
    """A parsed answer: the position picked, the stated confidence (0..1) and the rationale."""

    winner: Position
    confidence: float | None
    rationale: str | None
    method: str  # json, json_fragment or phrase: how it was read


def parse_verdict(text: str | None) -> ParsedVerdict | None:
    """The verdict in ``text``, or None when there is none or it is ambiguous."""
    if not text or not text.strip():
        return None
    for obj in _json_objects(text):
        verdict = _from_object(obj)
        if verdict is not None:
            return verdict
    fragments = {_winner(m) for m in _WINNER_FRAGMENT.findall(text)} - {None}
    if len(fragments) == 1:
        return ParsedVerdict(fragments.pop(), None, None, "json_fragment")
    if len(fragments) > 1:
        return None
    return _from_phrases(text)


def verdict_probability(logprobs: list[dict] | None, text: str | None, winner: Position) -> float | None:
    """P(winner) among A/B/tie at the token that carries the winner in the JSON answer.

    The token whose span covers the first character of the ``"winner"`` value
    is found by rebuilding the text from the tokens; its ``top_logprobs`` are
    mapped to A/B/tie (``"A"``, ``' "B'``, ``"t"`` for a tie under a grammar)
    and renormalized over those three. None when logprobs are missing or the
    token cannot be found.
    """
    if not logprobs or not text:
        return None
    value_at = _winner_value_offset("".join(str(t.get("token", "")) for t in logprobs))
    if value_at is None:
        return None
    offset = 0
    for token in logprobs:
        piece = str(token.get("token", ""))
        if offset <= value_at < offset + len(piece):
            return _softmax_share(token, winner)
        offset += len(piece)
    return None


def _winner_value_offset(text: str) -> int | None:
    match = re.search(r'"winner"\s*:\s*"', text)
    return match.end() if match else None


def _softmax_share(token: dict, winner: Position) -> float | None:
    mass: dict[str, float] = {}
    candidates = list(token.get("top_logprobs") or [])
    if not any(c.get("token") == token.get("token") for c in candidates):
        candidates.append({"token": token.get("token"), "logprob": token.get("logprob")})
    for candidate in candidates:
        label = _token_label(str(candidate.get("token", "")))
        logprob = candidate.get("logprob")
        if label is None or logprob is None or not math.isfinite(logprob):
            continue
        mass[label] = mass.get(label, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if winner not in mass or total <= 0:
        return None
    return mass[winner] / total


def _token_label(token: str) -> Position | None:
    """The verdict a single token starts: ``A``, ``B``, or a prefix of ``tie``."""
    core = token.strip().strip('"').strip().lower()
    if core == "a":
        return Position.A
    if core == "b":
        return Position.B
    if core and Position.TIE.startswith(core):
        return Position.TIE
    return None


def _json_objects(text: str):
    """The whole text as JSON, then each balanced ``{...}`` in it (strings respected), outermost first."""
    stripped = text.strip()
    try:
        whole = _loads(stripped)
        if isinstance(whole, dict):
            yield whole
    except ValueError:
        pass
    start = text.find("{")
    while start != -1:
        end = _balanced_end(text, start)
        if end is not None:
            try:
                candidate = _loads(text[start:end])
            except ValueError:
                candidate = None
            if isinstance(candidate, dict):
                yield candidate
        start = text.find("{", start + 1)


def _loads(text: str) -> object:
    """JSON by orjson (fast, and most answers are plain JSON), else by ``json``, which also reads the
    ``NaN`` and big integers some models write."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _balanced_end(text: str, start: int) -> int | None:
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _from_object(obj: dict) -> ParsedVerdict | None:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    winner = next((_winner(lowered[k]) for k in _WINNER_KEYS if k in lowered), None)
    if winner is None:
        return None
    confidence = next((_confidence(lowered[k]) for k in _CONFIDENCE_KEYS if k in lowered), None)
    rationale = next((str(lowered[k]) for k in _RATIONALE_KEYS if isinstance(lowered.get(k), str)), None)
    return ParsedVerdict(winner, confidence, rationale, "json")


def _from_phrases(text: str) -> ParsedVerdict | None:
    bare = _BARE.match(text.strip())
    if bare:
        return ParsedVerdict(_winner(bare.group(1)), None, None, "phrase")
    for pattern in _PHRASES:
        found = {_winner(next(g for g in m.groups() if g)) for m in pattern.finditer(text)}
        if len(found) == 1:
            return ParsedVerdict(found.pop(), None, None, "phrase")
        if len(found) > 1:
            return None
    return None


def _winner(value: object) -> Position | None:
    """``"A"``, ``"Response B"``, ``"[[A]]"``, ``"Tie"``, ``"equal"`` ... -> A, B or tie; anything else None."""
    if not isinstance(value, str):
        return None
    core = re.sub(r"[\[\]\(\)\"'*.:!\s]+", " ", value).strip().lower()
    core = re.sub(r"^(?:response|assistant|option|answer|output)\s+", "", core)
    if core == "a":
        return Position.A
    if core == "b":
        return Position.B
    if core in (Position.TIE, "equal", "draw", "both", "neither", "same"):
        return Position.TIE
    return None


def _confidence(value: object) -> float | None:
    """A stated confidence as 0..1: numbers in 0..1 as they are, 1..10 and 1..100 scales rescaled."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("%"))
        except ValueError:
            return {"low": 0.25, "medium": 0.5, "high": 0.9}.get(str(value).strip().lower())
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    if value <= 1:
        return float(value)
    if value <= 10:
        return value / 10
    if value <= 100:
        return value / 100
    return None
