"""Argilla 2.x records: ``fields`` with a prompt and two responses, and ``responses`` per question and user.

Both shapes the SDK writes are read: nested (``Dataset.to_disk``'s ``records.json``, ``records.to_json``,
``records.to_list(flatten=False)``: ``responses = {question: [{value, user_id, status}]}``) and flat
(``to_hub``, ``to_list(flatten=True)``: fields at the top, ``<question>.responses``, ``.responses.users`` and
``.responses.status`` as parallel lists). Only submitted responses count (drafts and discarded ones do not).

Each user's answers make one vote, from the first question that states a preference: a RankingQuestion
(the responses' field names, best first, or ``{value, rank}`` items), a LabelQuestion naming a side, two
RatingQuestions, one per response (matched by name: ``rating_response1``, ``response_a_rating``, ...), or one
RatingQuestion on a preference scale, whose range comes from the dataset's settings (low = response 1 better).
A text answer to a question named like a reason (reason, rationale, comment, ...) is the reason.
"""

from __future__ import annotations

import re
from collections import defaultdict

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

NAME = "argilla"
_FLAT = ".responses"
_RECORD_KEYS = frozenset({"id", "external_id", "_server_id", "status", "inserted_at", "updated_at", "score"})
_REASON = re.compile(r"reason|rational|comment|justif|explan|feedback|note|why", re.IGNORECASE)
_MAX_LABEL = 60  # longer text answers are free text, never read as a label
_COUNTED = (None, "submitted")  # response statuses that count (older exports write none)

Scales = dict[str, tuple[float, float]]
"""Rating question name -> (lowest, highest) value, from the dataset's settings."""


def is_record(record: dict) -> bool:
    """An Argilla record: nested ``fields`` and ``responses``, or flat ``<question>.responses`` columns."""
    if isinstance(record.get("fields"), dict) and "responses" in record:
        return True
    return any(isinstance(k, str) and k.endswith(_FLAT) for k in record)


def parse_record(record: dict, scales: Scales | None = None) -> Annotated:
    """The record's comparison and one vote per user whose submitted answers state a preference."""
    fields, responses = _split(record)
    prompt, a, b, names, used = comparison(fields, "fields")
    record_id = identifier(record.get("id")) or identifier(record.get("_server_id")) or identifier(record.get("external_id"))
    if record_id is None:
        raise Reject(RejectReason.MISSING_FIELD, "record has no id")
    parsed = Annotated(prompt, a, b, record_id, extra={k: v for k, v in fields.items() if k not in used})
    answers: dict[str, dict[str, object]] = defaultdict(dict)
    for question, items in responses.items():
        for item in items if isinstance(items, list) else []:
            user = identifier(item.get("user_id")) if isinstance(item, dict) else None
            if user is not None and item.get("status") in _COUNTED and item.get("value") is not None:
                answers[user][question] = item["value"]
    when = timestamp(record.get("updated_at"))
    for user, said in answers.items():
        annotation_id = f"{record_id}:{user}"
        try:
            preference, graded = _preference(said, names, scales or {}, annotation_id)
        except Reject as rej:
            parsed.problems.append(rej)
            continue
        reasons = [v.strip() for q, v in said.items() if isinstance(v, str) and _REASON.search(q) and v.strip()]
        parsed.votes.append(Vote(preference=preference, graded=graded, annotator=user, annotation_id=annotation_id,
                                 reason="\n".join(reasons) or None, annotated_at=when))
    return parsed


@register_adapter(NAME, detect=is_record)
def _argilla(record: dict, options: Options) -> list[Candidate]:
    """Argilla 2.x records (nested or flat): one pair per record, labelled by its users' majority (ranking or rating)."""
    parsed = parse_record(record)
    fields, _ = _split(record)
    return [majority_pair(parsed, fields, set(fields) - set(parsed.extra))]


def _split(record: dict) -> tuple[dict, dict]:
    """The record's fields and its responses as ``{question: [{value, user_id, status}]}``, from either shape."""
    if isinstance(record.get("fields"), dict):
        responses = record.get("responses")
        return record["fields"], responses if isinstance(responses, dict) else {}
    fields = {k: v for k, v in record.items() if isinstance(k, str) and "." not in k and k not in _RECORD_KEYS}
    responses = {}
    for key, values in record.items():
        if isinstance(key, str) and key.endswith(_FLAT) and isinstance(values, list):
            users = record.get(f"{key}.users") or []
            statuses = record.get(f"{key}.status") or [None] * len(values)
            if isinstance(users, list) and isinstance(statuses, list):
                responses[key.removesuffix(_FLAT)] = [{"value": v, "user_id": u, "status": s}
                                                      for v, u, s in zip(values, users, statuses)]
    return fields, responses


def _preference(said: dict[str, object], names: tuple[str, str], scales: Scales, annotation_id: str) -> tuple[int, bool]:
    """One user's vote from their answers: a ranking, a label, two per-response ratings, or a preference scale."""
    for value in said.values():
        ranks = _ranks(value, names)
        if ranks is not None:
            return (0, True) if ranks[0] == ranks[1] else ((BARE if ranks[0] < ranks[1] else -BARE), False)
    for question, value in said.items():
        if isinstance(value, str) and len(value) <= _MAX_LABEL and not _REASON.search(question):
            found = choice_preference(value, names)
            if found is not None:
                return found
    ratings = {q: v for q, v in said.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    sides = {side: v for q, v in ratings.items() if (side := _rated_side(q, names)) is not None}
    if len(sides) == 2:
        return compare_scores(sides[0], sides[1])
    scale = [q for q in ratings if _rated_side(q, names) is None]
    if len(scale) == 1:
        question = scale[0]
        if question not in scales:
            raise Reject(RejectReason.MISSING_FIELD, f"{annotation_id}: rating {question!r} reads as a preference scale only "
                         "with the dataset's settings (.argilla/settings.json beside records.json)")
        return _on_scale(ratings[question], scales[question], f"{annotation_id}: rating {question!r}")
    raise Reject(RejectReason.MISSING_FIELD, f"{annotation_id}: no answer states a preference "
                 "(a ranking of the responses, a label naming one, or ratings per response)")


def _ranks(value: object, names: tuple[str, str]) -> tuple[float, float] | None:
    """The ranks of both responses in a ranking answer (names best first, or ``{value, rank}`` items)."""
    if not isinstance(value, list) or not value:
        return None
    ranks = {}
    for i, item in enumerate(value):
        name, rank = (item.get("value"), item.get("rank", i + 1)) if isinstance(item, dict) else (item, i + 1)
        if isinstance(name, str) and name in names and isinstance(rank, (int, float)) and not isinstance(rank, bool):
            ranks[name] = rank
    return (ranks[names[0]], ranks[names[1]]) if len(ranks) == 2 else None


def _rated_side(question: str, names: tuple[str, str]) -> int | None:
    """Which response a rating question rates: its name holds one response's name (or that name's own suffix)."""
    hits = [i for i, name in enumerate(names) if name in question]
    if len(hits) == 1:
        return hits[0]
    prefix = len(_common_prefix(*names))
    suffixes = [name[prefix:] for name in names]
    tokens = [t for t in re.split(r"[_\-\s.]+", question) if t]
    hits = [i for i, s in enumerate(suffixes) if s and tokens and s in (tokens[0], tokens[-1])]
    return hits[0] if len(hits) == 1 else None


def _on_scale(value: float, scale: tuple[float, float], what: str) -> tuple[int, bool]:
    """A rating on a preference scale: the middle is a tie, the lowest value response 1 (a) much better (3)."""
    low, high = scale
    if not low <= value <= high or high <= low:
        raise Reject(RejectReason.BAD_STRENGTH, f"{what} = {value:g} is outside its scale {low:g}..{high:g}")
    middle = (low + high) / 2
    return round(3 * (middle - value) / (middle - low)), True


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
