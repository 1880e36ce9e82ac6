"""Anthropic HH-RLHF: full ``chosen``/``rejected`` transcripts whose shared turns are the prompt."""

from __future__ import annotations

import re

from curate.ingest.adapters.fields import Candidate, Options, Reject, check_prompt, common_fields, text
from curate.ingest.adapters.registry import register_adapter
from schemas import RejectReason

_HH_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")


@register_adapter(
    "hh",
    detect=lambda r: isinstance(r.get("chosen"), str) and "prompt" not in r and "Human:" in r["chosen"],
)
def _hh(record: dict, options: Options) -> list[Candidate]:
    """Anthropic HH-RLHF: full ``chosen``/``rejected`` transcripts; the shared turns are the prompt."""
    chosen_turns = hh_turns(text(record.get("chosen"), "chosen"), "chosen")
    rejected_turns = hh_turns(text(record.get("rejected"), "rejected"), "rejected")
    if chosen_turns[:-1] != rejected_turns[:-1]:
        raise Reject(RejectReason.PROMPT_MISMATCH, "chosen and rejected transcripts differ before their last turn")
    return [
        Candidate(
            prompt=check_prompt(chosen_turns[:-1]),
            chosen=text(chosen_turns[-1][1], "chosen final assistant turn"),
            rejected=text(rejected_turns[-1][1], "rejected final assistant turn"),
            **common_fields(record, {"chosen", "rejected"}),
        )
    ]


def hh_turns(transcript: str, what: str) -> list[tuple[str, str]]:
    """Split a ``\\n\\nHuman: ... \\n\\nAssistant: ...`` transcript into turns; it must end with the assistant."""
    pieces = _HH_TURN.split(transcript)
    if pieces[0].strip():
        raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} has text before its first Human/Assistant marker")
    turns = [("user" if speaker == "Human" else "assistant", body.strip()) for speaker, body in zip(pieces[1::2], pieces[2::2])]
    if len(turns) < 2 or turns[-1][0] != "assistant":
        raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} does not end with an Assistant turn")
    for role, content in turns[:-1]:
        if not content:
            raise Reject(RejectReason.EMPTY_CONTENT, f"{what} has an empty {role} turn")
    return turns
