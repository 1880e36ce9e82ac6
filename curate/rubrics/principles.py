"""Binary principles (RLBFF): yes/no questions read out of the feedback text a pair already has.

The extractor sees the conversation, the stored chosen and rejected responses and the feedback (a source's
justification, an annotator's reason), and answers a list of ``{principle, chosen: yes|no, rejected: yes|no,
evidence}``. Each one is kept only if it is grounded and says something about the preference: its evidence
must be a span of the feedback (compared with case and whitespace folded, so a re-spaced quote still counts;
the evidence is stored as the extractor wrote it), both answers yes or no, the principle a yes/no question
rather than an open one, and the two responses answering it differently. Every extracted principle is stored,
kept or dropped with its reason: an extractor inventing quotes shows in the drop counts, not in the data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from curate.judge import endpoint as endpoints
from curate.judge.config import GeneratorConfig
from curate.llm.prompts import clip, conversation
from curate.rubrics import prompts
from schemas.vocab import PrincipleReason, PrincipleStatus

TEMPLATE = "principles_extract"

_ANSWER = {"type": "string", "enum": ["yes", "no"]}
PRINCIPLES_SCHEMA: dict = {
    "type": "object",
    "properties": {"principles": {"type": "array", "items": {
        "type": "object",
        "properties": {"principle": {"type": "string"}, "chosen": _ANSWER, "rejected": _ANSWER, "evidence": {"type": "string"}},
        "required": ["principle", "chosen", "rejected", "evidence"],
        "additionalProperties": False,
    }}},
    "required": ["principles"],
    "additionalProperties": False,
}
"""What the extractor must answer (a list wrapped in an object: strict JSON-schema modes want an object)."""

_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_OPEN_QUESTION = re.compile(r"^\W*(what|how|why|which|who|whom|whose|when|where)\b", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Feedback:
    """One feedback text about one pair, and where it came from (``justification`` or ``annotation:<annotator>``)."""

    pair_id: str
    source: str
    text: str
    prompt: list[dict]
    chosen: str
    rejected: str


@dataclass(frozen=True)
class Extracted:
    """One principle as read and decided; the fields the extractor did not give are None."""

    principle: str | None
    chosen: bool | None
    rejected: bool | None
    evidence: str | None
    status: PrincipleStatus
    reason: PrincipleReason | None


def template_hash() -> str:
    return prompts.load(TEMPLATE).hash


def messages(feedback: Feedback, *, max_chars: int) -> list[dict]:
    """The extractor's request; the feedback is shown whole, since its evidence spans are matched against it."""
    template = prompts.load(TEMPLATE)
    fields = {"conversation": conversation(feedback.prompt, max_chars), "chosen": clip(feedback.chosen, max_chars),
              "rejected": clip(feedback.rejected, max_chars), "feedback": feedback.text}
    nonce = template.nonce(*fields.values())
    return [{"role": "system", "content": template.fill("system")},
            {"role": "user", "content": template.fill("user", nonce=nonce, **fields)}]


def request_params(cfg: GeneratorConfig) -> dict:
    return endpoints.generation_params(cfg, "principles", PRINCIPLES_SCHEMA)


def extract(answer: str | None, feedback_text: str) -> list[Extracted]:
    """Every principle in the extractor's ``answer``, each kept or dropped with its reason; an answer with no
    readable list is one dropped ``unparseable`` entry, so it is on record."""
    entries = _entries(answer)
    if entries is None:
        return [_unparseable()]
    haystack = _fold(feedback_text)
    out, seen = [], set()
    for entry in entries:
        item = _decide(entry, haystack)
        if item.principle is None or item.principle.lower() not in seen:
            seen.add((item.principle or "").lower())
            out.append(item)
    return out


def _decide(entry: object, haystack: str) -> Extracted:
    if not isinstance(entry, dict):
        return _unparseable()
    lowered = {str(k).strip().lower(): v for k, v in entry.items()}
    principle, evidence = lowered.get("principle"), lowered.get("evidence")
    if not isinstance(principle, str) or not principle.strip():
        return _unparseable()
    principle = principle.strip()
    evidence = evidence if isinstance(evidence, str) else None
    chosen, rejected = _yes_no(lowered.get("chosen")), _yes_no(lowered.get("rejected"))
    if chosen is None or rejected is None or _OPEN_QUESTION.match(principle):
        reason = PrincipleReason.NOT_BINARY
    elif not evidence or not _fold(evidence) or _fold(evidence) not in haystack:
        reason = PrincipleReason.SPAN_NOT_FOUND
    elif chosen == rejected:
        reason = PrincipleReason.NO_CONTRAST
    else:
        reason = None
    status = PrincipleStatus.KEPT if reason is None else PrincipleStatus.DROPPED
    return Extracted(principle, chosen, rejected, evidence, status, reason)


def _entries(answer: str | None) -> list | None:
    """The list of principles in ``answer``: ``{"principles": [...]}`` or a bare list, prose around it skipped."""
    if not answer:
        return None
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", answer):
        try:
            value, _ = decoder.raw_decode(answer, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            value = next((v for k, v in value.items() if str(k).lower() == "principles"), None)
        if isinstance(value, list):
            return value
    return None


def _yes_no(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().strip(".").lower() if value is not None else ""
    return True if text in _YES else False if text in _NO else None


def _fold(text: str) -> str:
    """Case and whitespace folded, surrounding quotes dropped: what a span match compares."""
    return _SPACE.sub(" ", text).strip().strip("\"'\u201c\u201d").strip().casefold()


def _unparseable() -> Extracted:
    return Extracted(None, None, None, None, PrincipleStatus.DROPPED, PrincipleReason.UNPARSEABLE)
