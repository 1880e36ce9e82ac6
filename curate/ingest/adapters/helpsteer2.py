"""HelpSteer2 layouts: the preference pairs (``response_1``/``response_2``), and the per-response ratings
(one row per response, paired by helpfulness within a prompt)."""

from __future__ import annotations

import re

from curate.ingest.adapters.fields import (
    Candidate,
    Options,
    Reject,
    Response,
    check_prompt,
    common_fields,
    optional_text,
    ratings,
    require,
    strength,
    text,
)
from curate.ingest.adapters.registry import register_adapter
from schemas import RejectReason

HELPSTEER_ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
_HELPSTEER_TURN = re.compile(r"\n?<extra_id_1>(User|Assistant)\n")


@register_adapter("helpsteer2_preference", detect=lambda r: "response_1" in r and "response_2" in r)
def _helpsteer2_preference(record: dict, options: Options) -> list[Candidate]:
    """HelpSteer2-Preference: ``response_1``/``response_2`` with ``preference_strength`` (-3..3; negative = response 1 better)."""
    prompt = helpsteer_prompt(require(record, "prompt"))
    first = text(record.get("response_1"), "response_1")
    second = text(record.get("response_2"), "response_2")
    signed = strength(require(record, "preference_strength"))
    if signed is None:
        raise Reject(RejectReason.MISSING_FIELD, "field 'preference_strength' is empty")
    chosen, rejected = (second, first) if signed > 0 else (first, second)
    fields = common_fields(record, {"prompt", "response_1", "response_2", "preference_strength", "preference_statement"})
    fields["justification"] = optional_text(record.get("preference_statement"), "preference_statement") or fields["justification"]
    return [Candidate(prompt=prompt, chosen=chosen, rejected=rejected, tie=signed == 0, strength=abs(signed), **fields)]


@register_adapter("helpsteer2", detect=lambda r: "response" in r and "helpfulness" in r, grouped=True)
def _helpsteer2(record: dict) -> Response:
    """HelpSteer2: one response per row with attribute ratings; rows of one prompt are paired by helpfulness."""
    values = {a: record.get(a) for a in HELPSTEER_ATTRIBUTES if record.get(a) is not None}
    scores = ratings(values, "ratings") or {}
    if "helpfulness" not in scores:
        raise Reject(RejectReason.MISSING_FIELD, "field 'helpfulness' is missing")
    used = {"prompt", "response", *HELPSTEER_ATTRIBUTES}
    return Response(
        prompt=helpsteer_prompt(require(record, "prompt")),
        text=text(record.get("response"), "response"),
        score=scores["helpfulness"],
        ratings=scores,
        meta={k: v for k, v in record.items() if k not in used},
    )


def helpsteer_prompt(value: object) -> list[tuple[str, str]]:
    """A HelpSteer2 prompt; multi-turn ones separate turns with ``<extra_id_1>User`` / ``<extra_id_1>Assistant``."""
    prompt = text(value, "prompt")
    pieces = _HELPSTEER_TURN.split(prompt)
    turns = [("user", pieces[0].strip())]
    turns += [("user" if who == "User" else "assistant", body.strip()) for who, body in zip(pieces[1::2], pieces[2::2])]
    for role, content in turns:
        text(content, f"prompt {role} turn")
    return check_prompt(turns)
