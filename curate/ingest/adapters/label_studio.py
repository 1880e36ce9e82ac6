"""Label Studio JSON exports: tasks with ``data`` (a prompt and two responses) and their ``annotations``.

An annotation's ``result`` states the preference with a Pairwise tag (``value.selected``: left or right), a
Choices tag (``value.choices``: curate's own -3..3 aliases, or labels such as "Response 1", "Left", "Tie") or
two Rating tags, one per response (matched by ``to_name``); a TextArea holds the reason. Cancelled (skipped)
annotations are left out. The data's prompt and responses are found under the names in
``annotated.PROMPT_KEYS`` and ``RESPONSE_KEYS`` (curate's own tasks: ``messages``, ``left``, ``right``).
"""

from __future__ import annotations

import math

from curate.ingest.adapters.annotated import (
    BARE,
    Annotated,
    Vote,
    choice_preference,
    comparison,
    compare_scores,
    identifier,
    majority_pair,
    timestamp,
)
from curate.ingest.adapters.fields import Candidate, Options, Reject
from curate.ingest.adapters.registry import register_adapter
from schemas import RejectReason

NAME = "label-studio"
PREFERENCE_TAG = "preference"  # curate's own Choices tag: its result is read first


def is_task(record: dict) -> bool:
    """A Label Studio task: ``data`` with ``annotations`` (``completions`` in exports before 1.0)."""
    return isinstance(record.get("data"), dict) and isinstance(record.get("annotations", record.get("completions")), list)


def parse_task(record: dict) -> Annotated:
    """The task's comparison and one vote per annotation that states a preference; an annotation that states
    none (or one that cannot be read) is kept in ``problems`` with why."""
    prompt, a, b, names, used = comparison(record.get("data"), "data")
    task_id = identifier(record.get("id"))
    annotations = record.get("annotations", record.get("completions")) or []
    if not isinstance(annotations, list):
        raise Reject(RejectReason.MISSING_FIELD, "annotations is not a list")
    parsed = Annotated(prompt, a, b, task_id, extra={k: v for k, v in record["data"].items() if k not in used})
    for i, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            parsed.problems.append(Reject(RejectReason.MISSING_FIELD, f"task {task_id}: annotations[{i}] is not an object"))
        elif not annotation.get("was_cancelled"):
            try:
                parsed.votes.append(_vote(annotation, i, task_id, names))
            except Reject as rej:
                parsed.problems.append(rej)
    return parsed


@register_adapter(NAME, detect=is_task)
def _label_studio(record: dict, options: Options) -> list[Candidate]:
    """Label Studio JSON export: one pair per task, labelled by its annotators' majority (Pairwise, Choices or Rating)."""
    parsed = parse_task(record)
    return [majority_pair(parsed, record["data"], set(record["data"]) - set(parsed.extra))]


def _vote(annotation: dict, index: int, task_id: str | None, names: tuple[str, str]) -> Vote:
    annotation_id = identifier(annotation.get("id")) or f"{task_id}:{index}"
    results = annotation.get("result") or []
    if not isinstance(results, list):
        raise Reject(RejectReason.MISSING_FIELD, f"annotation {annotation_id}: result is not a list")
    results = [r for r in results if isinstance(r, dict) and isinstance(r.get("value"), dict)]
    found = _preference(results, names, annotation_id)
    if found is None:
        raise Reject(RejectReason.MISSING_FIELD, f"annotation {annotation_id} of task {task_id} states no preference "
                     "(no Pairwise, Choices or per-response Rating result)")
    lead_time = annotation.get("lead_time")
    texts = [t for r in results if r.get("type") == "textarea" for t in _texts(r["value"].get("text"))]
    return Vote(
        preference=found[0], graded=found[1], annotator=_annotator(annotation), annotation_id=annotation_id,
        reason=" ".join(texts) or None,
        annotated_at=timestamp(annotation.get("updated_at") or annotation.get("created_at")),
        lead_time=float(lead_time) if _is_number(lead_time) and math.isfinite(lead_time) else None,
    )


def _preference(results: list[dict], names: tuple[str, str], annotation_id: str) -> tuple[int, bool] | None:
    """The first result that states a preference: curate's own tag, then Pairwise or Choices, then two Ratings."""
    unread = None
    for result in sorted(results, key=lambda r: r.get("from_name") != PREFERENCE_TAG):
        value = result["value"]
        if result.get("type") == "pairwise":
            selected = value.get("selected")
            if selected not in ("left", "right"):
                raise Reject(RejectReason.BAD_STRENGTH,
                             f"annotation {annotation_id}: pairwise selection {selected!r} is neither left nor right")
            return (BARE if selected == "left" else -BARE), False
        if result.get("type") == "choices":
            choices = value.get("choices")
            found = choice_preference(choices[0], names) if isinstance(choices, list) and len(choices) == 1 else None
            if found is not None:
                return found
            unread = unread or choices  # another Choices tag may hold the preference
    ratings = {}
    for result in results:
        rating = result["value"].get("rating")
        side = names.index(result.get("to_name")) if result.get("to_name") in names else None
        if result.get("type") == "rating" and side is not None and _is_number(rating):
            ratings[side] = rating
    if len(ratings) == 2:
        return compare_scores(ratings[0], ratings[1])
    if unread is not None:
        raise Reject(RejectReason.BAD_STRENGTH, f"annotation {annotation_id}: choices {unread!r} name no side "
                     "(expected -3..3, or labels such as 'Response 1', 'Left', 'Tie')")
    return None


def _annotator(annotation: dict) -> str | None:
    """``completed_by``: a user id, or (some exports) the user object, whose e-mail is used."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return identifier(who.get("email")) or identifier(who.get("username")) or identifier(who.get("id"))
    return identifier(who) or identifier(annotation.get("created_username"))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _texts(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [t.strip() for t in items if isinstance(t, str) and t.strip()]
