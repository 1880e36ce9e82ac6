"""TRL preference data: standard (strings) or conversational (message lists), explicit or implicit prompt.

Registered last: its layout (``chosen`` and ``rejected``) is the most generic, so detection tries it after the others."""

from __future__ import annotations

from curate.ingest.adapters.fields import (
    Candidate,
    Options,
    Reject,
    check_prompt,
    common_fields,
    flag,
    messages,
    ratings,
    require,
    response,
    strength,
)
from curate.ingest.adapters.registry import register_adapter
from schemas import RejectReason


@register_adapter("trl", detect=lambda r: "chosen" in r and "rejected" in r)
def _trl(record: dict, options: Options) -> list[Candidate]:
    """TRL preference data, standard (strings) or conversational (message lists), explicit or implicit prompt."""
    chosen, rejected = require(record, "chosen"), require(record, "rejected")
    if record.get("prompt") is not None:
        prompt = messages(record["prompt"], "prompt")
    elif isinstance(chosen, list) and isinstance(rejected, list):
        prompt, chosen, rejected = _split_implicit_prompt(messages(chosen, "chosen"), messages(rejected, "rejected"))
    else:
        raise Reject(RejectReason.MISSING_FIELD, "field 'prompt' is missing (and chosen/rejected are not conversations)")
    signed = strength(record.get("strength"))
    tie = flag(record.get("tie")) or signed == 0
    used = {"prompt", "chosen", "rejected", "strength", "tie", "score_chosen", "score_rejected", "chosen_ratings", "rejected_ratings"}
    return [
        Candidate(
            prompt=check_prompt(prompt),
            chosen=response(chosen, "chosen"),
            rejected=response(rejected, "rejected"),
            tie=tie,
            strength=0 if tie else signed,
            chosen_ratings=ratings(record.get("chosen_ratings", record.get("score_chosen")), "chosen ratings"),
            rejected_ratings=ratings(record.get("rejected_ratings", record.get("score_rejected")), "rejected ratings"),
            **common_fields(record, used),
        )
    ]


def _split_implicit_prompt(chosen: list[tuple[str, str]], rejected: list[tuple[str, str]]):
    """Implicit-prompt conversations: everything before the final assistant message is the prompt."""
    if chosen[:-1] != rejected[:-1]:
        raise Reject(RejectReason.PROMPT_MISMATCH, "chosen and rejected conversations differ before their last message")
    for what, conversation in (("chosen", chosen), ("rejected", rejected)):
        if conversation[-1][0] != "assistant":
            raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} conversation does not end with an assistant message")
    return chosen[:-1], chosen[-1][1], rejected[-1][1]
