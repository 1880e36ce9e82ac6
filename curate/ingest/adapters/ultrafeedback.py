"""UltraFeedback: one ``instruction`` with rated ``completions``; pairs are the best against each lower-rated one."""

from __future__ import annotations

from curate.ingest.adapters.fields import (
    Candidate,
    Options,
    Reject,
    Response,
    common_fields,
    messages,
    number,
    pair_by_score,
    require,
    text,
)
from curate.ingest.adapters.registry import register_adapter
from schemas import RejectReason


@register_adapter("ultrafeedback", detect=lambda r: isinstance(r.get("completions"), list))
def _ultrafeedback(record: dict, options: Options) -> list[Candidate]:
    """UltraFeedback: one ``instruction`` with rated ``completions``; pairs are best vs each lower-rated."""
    prompt = messages(record.get("instruction", record.get("prompt")), "instruction")
    completions = require(record, "completions")
    responses = []
    for i, completion in enumerate(completions):
        if not isinstance(completion, dict):
            raise Reject(RejectReason.MISSING_FIELD, f"completions[{i}] is not an object")
        score = _completion_score(completion, i)
        responses.append(
            Response(
                prompt=prompt,
                text=text(completion.get("response"), f"completions[{i}].response"),
                score=score,
                ratings={"overall": score},
                meta={"model": completion.get("model")},
            )
        )
    pairs = pair_by_score(responses, options)
    fields = common_fields(record, {"instruction", "prompt", "completions"})
    for pair in pairs:
        pair.meta = {**fields["meta"], **pair.meta}
        pair.language = fields["language"]
    return pairs


def _completion_score(completion: dict, index: int) -> float:
    for key in ("overall_score", "fine-grained_score", "score", "rating"):
        if completion.get(key) is not None:
            return number(completion[key], f"completions[{index}].{key}", RejectReason.BAD_RATING)
    raise Reject(RejectReason.MISSING_FIELD, f"completions[{index}] has no overall_score, fine-grained_score or score")
