"""One pair's whole story, read from the warehouse: where it came from, what judged it, how it scored, what
people said, and what every release did with it (``curate explain``).

Every section is a list of plain dicts, read from the tables and the named views the stages themselves read.
A section whose table or view a warehouse (or an old snapshot of it) lacks is empty, never an error: a pair
ingested and nothing more still has a story.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

import duckdb

from curate.errors import ConfigError
from curate.query import connect
from curate.warehouse import LAKE, Warehouse, relations
from schemas import ANNOTATION_TASKS, AUGMENTATIONS, CONFLICTS, PAIRS, RAW_ROWS, RELEASE_ROWS, RELEASES, RUBRICS
from schemas.annotate import ANNOTATIONS_LATEST
from schemas.judge import JUDGE_PAIR_VERDICTS
from schemas.noise import ANNOTATOR_PREFIX, NOISE_RELIABILITIES, NOISE_SCORES_LATEST
from schemas.vocab import AugmentStatus, Outcome

JUDGE_ROWS = "judge_rows"
"""View: the judgments that count, one per pair, judge version, order and sample (probe rows left out)."""
MIN_PREFIX = 8
"""Hex characters a pair id prefix needs at least."""
LABEL_SOURCE = "label"
"""The source's own label among a noise run's reliabilities (``curate.noise.fusion.LABEL``)."""
VIEWS = {JUDGE_ROWS, JUDGE_PAIR_VERDICTS, NOISE_SCORES_LATEST, NOISE_RELIABILITIES, ANNOTATIONS_LATEST}
"""The named views a story reads."""

_AUGMENTATION_COLUMNS = ("augmentation_id, parent_pair_id, donor_pair_id, kind, method, attribute, side, status, reason, "
                         "similarity, verdict_chosen_as_a, verdict_chosen_as_b, generator, judge, run_id")
_HEX = re.compile(r"[0-9a-f]+")


class UnknownPair(ConfigError):
    """The id given names no pair, or more than one (exit 2)."""

    def __init__(self, message: str, *, pair_id: str, matched: int) -> None:
        super().__init__(message, pair_id=pair_id, matched=matched)
        self.matched = matched


@dataclass(frozen=True)
class PairStory:
    """One pair and everything the warehouse holds about it, section by section."""

    pair_id: str
    pair: dict  # the pairs row: prompt, chosen, rejected, source, strength, tie, language, kind, ...
    raw_rows: list[dict] = field(default_factory=list)  # every input row whose pair_ids name it, any outcome
    duplicates: list[dict] = field(default_factory=list)  # of those, the rows that repeated or contradicted it
    conflicts: list[dict] = field(default_factory=list)  # the conflicts table: labels that contradict the stored one
    judgments: list[dict] = field(default_factory=list)  # judge_rows: one verdict per judge version, order and sample
    judge_verdicts: list[dict] = field(default_factory=list)  # judge_pair_verdicts: the consistent verdict per version
    scores: list[dict] = field(default_factory=list)  # noise_scores_latest: every method's score, components parsed
    reliabilities: list[dict] = field(default_factory=list)  # the latest noise run's, for the sources that spoke on it
    tasks: list[dict] = field(default_factory=list)  # annotation_tasks: batch, route reason, which side showed chosen
    annotations: list[dict] = field(default_factory=list)  # annotations_latest: the human verdicts
    augmentation: list[dict] = field(default_factory=list)  # augmentations: what made this pair, when an augmentation did
    augmentations: list[dict] = field(default_factory=list)  # augmentations: the candidates made from it, kept or not
    rubrics: list[dict] = field(default_factory=list)  # rubrics written for it, every attempt, with the filter's result
    releases: list[dict] = field(default_factory=list)  # release_rows with their release: decision, reason, split
    snapshot_id: int | None = None  # the snapshot read

    def as_dict(self) -> dict:
        return asdict(self)


def explain(wh: Warehouse, pair_id: str, at: int | None = None) -> PairStory:
    """The story of the pair ``pair_id`` names (a full id, or a unique prefix of at least ``MIN_PREFIX`` hex
    characters), as of snapshot ``at`` (None: now). Raises ``UnknownPair`` when it names none or several, and
    ``ConfigError`` when ``at`` names no snapshot."""
    with connect(wh, read_only=True, at=at, views=VIEWS) as con:
        pid = resolve(con, pair_id)
        present = relations(con)
        pair = _rows(con, f"SELECT * EXCLUDE (pair_id) FROM {PAIRS.name} WHERE pair_id = ?", [pid])[0]
        raw = _rows(con, f"SELECT source, source_file, source_row, run_id, adapter, outcome, reason, detail "
                         f"FROM {RAW_ROWS.name} WHERE list_contains(pair_ids, ?) "
                         f"ORDER BY outcome <> '{Outcome.ACCEPTED}', run_id, source_file, source_row", [pid])
        sections = {"raw_rows": raw,
                    "duplicates": [r for r in raw if r["outcome"] in (Outcome.DUPLICATE, Outcome.CONFLICT)]}
        queries = {
            "conflicts": (CONFLICTS.name, f"SELECT * EXCLUDE (pair_id) FROM {CONFLICTS.name} WHERE pair_id = ? "
                                          "ORDER BY source_file, source_row"),
            "judgments": (JUDGE_ROWS, f"SELECT judge, template, attribute, settings_hash, swapped, sample, status, winner, "
                                      f"verdict, strength, p_verdict, rationale, error, run_id, judged_at FROM {JUDGE_ROWS} "
                                      "WHERE pair_id = ? ORDER BY judge, template, attribute, settings_hash, swapped, sample"),
            "judge_verdicts": (JUDGE_PAIR_VERDICTS, f"SELECT * EXCLUDE (pair_id) FROM {JUDGE_PAIR_VERDICTS} WHERE pair_id = ? "
                                                    "ORDER BY judge, template, attribute, settings_hash"),
            "scores": (NOISE_SCORES_LATEST, f"SELECT method, score, components, config_hash, run_id, created_at "
                                            f"FROM {NOISE_SCORES_LATEST} WHERE pair_id = ? ORDER BY method"),
            "tasks": (ANNOTATION_TASKS.name, f"SELECT batch_id, task_id, route_reason, p_wrong, left_is_chosen, "
                                             f"CASE WHEN left_is_chosen THEN 'left' WHEN NOT left_is_chosen THEN 'right' "
                                             f"END AS chosen_shown, run_id, created_at FROM {ANNOTATION_TASKS.name} "
                                             "WHERE pair_id = ? ORDER BY created_at, batch_id"),
            "annotations": (ANNOTATIONS_LATEST, f"SELECT annotator, verdict, strength, reason, lead_time, batch_id, origin, "
                                                f"annotation_id, version, annotated_at, run_id FROM {ANNOTATIONS_LATEST} "
                                                "WHERE pair_id = ? ORDER BY annotated_at, annotator, annotation_id"),
            "augmentation": (AUGMENTATIONS.name, f"SELECT {_AUGMENTATION_COLUMNS} FROM {AUGMENTATIONS.name} "
                                                 f"WHERE pair_id = ? AND status = '{AugmentStatus.ACCEPTED}' ORDER BY created_at"),
            "augmentations": (AUGMENTATIONS.name, f"SELECT pair_id, {_AUGMENTATION_COLUMNS} FROM {AUGMENTATIONS.name} "
                                                  "WHERE parent_pair_id = ? ORDER BY kind, method, attribute, created_at"),
            "rubrics": (RUBRICS.name, f"SELECT rubric_id, attempt, status, reason, accuracy, pairs_checked, current_correct, "
                                      f"final, text, generator, run_id FROM {RUBRICS.name} WHERE pair_id = ? "
                                      "ORDER BY created_at, attempt"),
        }
        for section, (relation, sql) in queries.items():
            sections[section] = _rows(con, sql, [pid]) if relation in present else []
        for score in sections["scores"]:
            score["components"] = _json(score["components"])
        if RELEASE_ROWS.name in present and RELEASES.name in present:
            sections["releases"] = _rows(
                con, f"SELECT rr.* EXCLUDE (pair_id, prompt_id, run_id), r.parent, r.snapshot_id, r.policy_hash, r.created_at "
                     f"FROM {RELEASE_ROWS.name} rr JOIN {RELEASES.name} r ON r.name = rr.release "
                     "WHERE rr.pair_id = ? ORDER BY r.created_at, rr.release", [pid])
        if NOISE_RELIABILITIES in present:
            sections["reliabilities"] = _reliabilities(con, sections["judge_verdicts"], sections["annotations"])
        snapshot = at if at is not None else con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()[0]
    return PairStory(pair_id=pid, pair=pair, snapshot_id=snapshot, **sections)


def resolve(con: duckdb.DuckDBPyConnection, pair_id: str) -> str:
    """The one pair id that ``pair_id`` is, or is a prefix of; ``UnknownPair`` otherwise."""
    given = pair_id.strip().lower()
    if len(given) < MIN_PREFIX or not _HEX.fullmatch(given):
        raise UnknownPair(f"a pair id is hex: give it whole or at least {MIN_PREFIX} of its first characters, "
                          f"not {pair_id!r}", pair_id=pair_id, matched=0)
    found = [r[0] for r in con.execute(f"SELECT pair_id FROM {PAIRS.name} WHERE starts_with(pair_id, ?) "
                                       "ORDER BY pair_id LIMIT 6", [given]).fetchall()]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UnknownPair(f"no pair id starts with {given!r}: 0 pairs matched", pair_id=given, matched=0)
    total = con.execute(f"SELECT count(*) FROM {PAIRS.name} WHERE starts_with(pair_id, ?)", [given]).fetchone()[0]
    raise UnknownPair(f"{given!r} is ambiguous: {total} pairs matched ({', '.join(found[:5])}"
                      f"{', ...' if total > 5 else ''}); give more characters", pair_id=given, matched=total)


def _reliabilities(con: duckdb.DuckDBPyConnection, verdicts: list[dict], annotations: list[dict]) -> list[dict]:
    """The latest noise run's reliabilities of the sources that spoke on this pair: its own label, the
    reward-model sources (they score every pair: the ones with a weight), the judge versions with a consistent
    verdict on it, and its annotators (``human:<annotator>``)."""
    latest = con.execute(f"SELECT run_id FROM {NOISE_RELIABILITIES} ORDER BY finished_at DESC NULLS LAST, run_id DESC "
                         "LIMIT 1").fetchone()
    if latest is None:
        return []
    judges = [v for v in verdicts if v.get("consistent")]
    names = [_judge_version(v) for v in judges]
    names += [f"{ANNOTATOR_PREFIX}{a['annotator'] or ''}" for a in annotations if a.get("verdict") is not None]
    return _rows(con, f"SELECT annotator, reliability, weight, run_id, finished_at FROM {NOISE_RELIABILITIES} "
                      "WHERE run_id = ? AND (annotator = ? OR weight IS NOT NULL OR list_contains(?::VARCHAR[], annotator)) "
                      "ORDER BY weight IS NULL, annotator", [latest[0], LABEL_SOURCE, sorted(set(names))])


def _judge_version(v: dict) -> str:
    """A judge version's name among the reliabilities, as the noise stage spells it (``curate.noise.stage``'s
    ``_JUDGE_VERSION``: judge, template, attribute and the settings hash's start), for one ``judge_pair_verdicts`` row."""
    settings = f" {v['settings_hash'][:8]}" if v.get("settings_hash") else ""
    return f"{v['judge']} {v['template']} {v['attribute']}{settings}"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _json(value):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
