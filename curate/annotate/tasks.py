"""What an annotator sees: the labeling interface, and one task per pair with its sides randomized.

The scale is HelpSteer3's: -3 (response 1 much better) .. 0 (about the same, a tie) .. 3 (response 2 much
better). Which stored response shows as response 1 is drawn per task from a seeded hash, and the mapping is
kept in the warehouse (``annotation_tasks.left_is_chosen``), never in the task: an annotator, or anyone
reading the project, cannot tell which side the dataset preferred. Tasks are blind by default; with
suggestions on, a task also shows the judge's verdict and the fused P(wrong), on its own sides.
"""

from __future__ import annotations

import hashlib

from curate import assets

TEMPLATE = "templates/labelstudio_pairwise.xml"
PREFERENCE = "preference"  # the Choices tag: its aliases are the scale's numbers
REASON = "reason"  # the optional TextArea
SCALE = range(-3, 4)

_SUGGESTIONS = '<View style="padding: 8px; background: #fff8e1;"><Header value="Suggestions (not the answer)" size="6"/>' \
               '<Text name="suggestion" value="$suggestion"/></View>'
_REASON = f'<TextArea name="{REASON}" toName="response_1" placeholder="Why? One sentence is enough (optional)" ' \
          'maxSubmissions="1" editable="true" rows="2"/>'


def label_config(*, ask_reason: bool, show_suggestions: bool) -> str:
    """The project's labeling interface."""
    xml = assets.text(TEMPLATE)
    xml = xml.replace("<!--suggestions-->", _SUGGESTIONS if show_suggestions else "")
    return xml.replace("<!--reason-->", _REASON if ask_reason else "")


def left_is_chosen(pair_id: str, seed: int) -> bool:
    """The side the stored chosen response shows on: a fair coin per pair, fixed by the seed."""
    return hashlib.sha256(f"{seed}:{pair_id}".encode()).digest()[0] & 1 == 1


def task_data(pair: dict, *, batch_id: str, left_chosen: bool, suggestion: str | None = None) -> dict:
    """The data of one task: the conversation and the two responses on their drawn sides, plus the ids
    pull maps it back with (the pair and batch ids say nothing about which side was preferred)."""
    chosen, rejected = pair["chosen"], pair["rejected"]
    left, right = (chosen, rejected) if left_chosen else (rejected, chosen)
    data = {"messages": [{"role": m["role"], "content": m["content"]} for m in pair["prompt"]],
            "left": left, "right": right, "pair_id": pair["pair_id"], "batch_id": batch_id}
    if suggestion is not None:
        data["suggestion"] = suggestion
    return data


def suggestion_text(*, judge_verdict: str | None, p_wrong: float | None, left_chosen: bool) -> str:
    """The judge's verdict and the fused P(wrong), said about the sides the annotator sees."""
    parts = []
    if judge_verdict in ("chosen", "rejected"):
        prefers_left = (judge_verdict == "chosen") == left_chosen
        parts.append(f"The LLM judge preferred response {1 if prefers_left else 2}.")
    elif judge_verdict == "tie":
        parts.append("The LLM judge called it a tie.")
    if p_wrong is not None:
        dataset_side = 1 if left_chosen else 2
        parts.append(f"The dataset prefers response {dataset_side}; curate estimates a {p_wrong:.0%} chance that label is wrong.")
    return " ".join(parts) or "No suggestion for this pair."


def read_result(result: list[dict]) -> tuple[int | None, str | None]:
    """(preference on the -3..3 scale, reason) from one Label Studio annotation's result list; a
    preference of None when the annotation has no valid choice."""
    preference, reason = None, None
    for item in result or []:
        value = item.get("value") or {}
        if item.get("from_name") == PREFERENCE and value.get("choices"):
            try:
                number = int(str(value["choices"][0]).strip())
            except ValueError:
                continue
            preference = number if number in SCALE else None
        elif item.get("from_name") == REASON and value.get("text"):
            text = value["text"]
            reason = (" ".join(text) if isinstance(text, list) else str(text)).strip() or None
    return preference, reason


def stored_strength(preference: int, left_chosen: bool) -> int:
    """A -3..3 preference between the shown sides as the signed strength for the stored chosen response:
    negative prefers response 1 (left), so it favours the chosen response when that is the left one."""
    return -preference if left_chosen else preference
