"""What a release is made of, gathered once for its dataset card, its HTML report and its plots.

Everything is read from the warehouse: the ``releases`` row and the decisions in
``release_rows`` (``curate.release.store``), the pair content as of the release's snapshot,
and the evidence (judge quality, the latest noise scores of each method, the annotators' agreement and
the audit sample's estimates) through the views
of a connection opened at that snapshot, so the figures describe exactly what the release
decided on. Evidence tables may be empty or may not exist yet: each figure is then empty
(and the card and report say so), never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from curate.release import store
from curate.release.policy import outcomes
from curate.warehouse import Warehouse, relations
from schemas import JUDGMENTS, RELEASE_ROWS
from schemas.noise import NOISE_RELIABILITIES, NOISE_SCORES_LATEST
from schemas.vocab import Decision, NoiseMethod, Reason

JUDGE_QUALITY = "judge_quality"  # the judge stage's view of judge quality per source and judge version
ANNOTATION_ALPHA = "annotation_alpha"  # the annotation stage's view: Krippendorff's alpha per batch and source ('*': all)
ANNOTATION_AUDIT = "annotation_audit"  # the annotation stage's view: wrong-label and judge-wrong rates on the audit sample
_ALPHA_COLUMNS = ("units", "annotations", "annotators", "alpha_verdict", "alpha_strength")
_AUDIT_COLUMNS = ("pairs", "label_wrong", "label_wrong_rate", "label_wrong_low", "label_wrong_high",
                  "judge_pairs", "judge_wrong", "judge_wrong_rate", "judge_wrong_low", "judge_wrong_high")

@dataclass(frozen=True)
class Figure:
    """A small result table: column names and rows, ready to print as Markdown or HTML."""

    columns: tuple[str, ...]
    rows: tuple[tuple, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rows)

    def column(self, name: str) -> list:
        """The values of column ``name``; all None when the figure has no such column."""
        if name not in self.columns:
            return [None] * len(self.rows)
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass(frozen=True)
class ReleaseFacts:
    """Numbers and lists that describe one release; every field is computed in ``collect``."""

    name: str
    snapshot_id: int
    parent: str | None
    policy: dict
    policy_hash: str
    created_at: datetime | None
    run_id: str | None
    decisions: Figure
    splits: Figure
    sources: Figure
    languages: Figure
    labels: Figure
    length_bias: Figure
    judges: Figure
    noise: Figure
    reliabilities: Figure = Figure(("annotator", "reliability"))
    noise_method: str = NoiseMethod.FUSED.value
    noise_by_decision: dict[str, list[float]] = field(default_factory=dict)
    length_log_ratios: dict[str, list[float]] = field(default_factory=dict)
    margins: Figure = Figure(("stat", "value"))
    humans: Figure = Figure(("pairs", "count"))
    human_alpha: Figure = Figure(_ALPHA_COLUMNS)
    human_audit: Figure = Figure(_AUDIT_COLUMNS)

    @property
    def released_pairs(self) -> int:
        return sum(self.splits.column("pairs"))

    def decision_total(self, decision: str) -> int:
        return sum(r[2] for r in self.decisions.rows if r[0] == decision)


def collect(wh: Warehouse, name: str) -> ReleaseFacts:
    """All the facts of release ``name``; raises ``UnknownRelease`` listing the releases that exist."""
    with wh.connect(read_only=True, views=False) as con:
        info = store.lookup(con, name)
        con.execute(f"CREATE TEMP VIEW rel AS {_REL.format(candidates=store.candidates_sql(info))}")
        # the evidence views as of the release snapshot, beside the release's decisions (written after it)
        with wh.connect(read_only=True, at=info.snapshot_id) as then:
            then.register("release_decisions", con.execute(
                f"SELECT pair_id, decision, reason FROM {RELEASE_ROWS.name} WHERE release = ?", [name]).to_arrow_table())
            present = relations(then)
            noise_method = info.policy.noise_method
            return ReleaseFacts(
                name=name,
                snapshot_id=info.snapshot_id,
                parent=info.parent,
                policy=json.loads(info.policy.canonical_json()),  # as stored: key-sorted
                policy_hash=info.policy_hash,
                created_at=info.created_at,
                run_id=info.run_id,
                decisions=Figure(_DECISION_COLUMNS, tuple(outcomes(then, "release_decisions", noise_method))),
                splits=_figure(con, "SELECT split, count(*) AS pairs, count(DISTINCT prompt_id) AS prompts FROM rel "
                                    "WHERE split IS NOT NULL GROUP BY split ORDER BY split = 'train' DESC, split = 'validation' DESC, split"),
                sources=_figure(con, _SOURCES),
                languages=_figure(con, "SELECT language, count(*) AS pairs, count(*) FILTER (language_detected) AS detected FROM rel "
                                       "WHERE split IS NOT NULL GROUP BY ALL ORDER BY pairs DESC, language"),
                labels=_figure(con, _LABELS),
                length_bias=_figure(con, _LENGTH_BIAS),
                judges=_judges(then, present),
                noise=_noise(then, present),
                reliabilities=_reliabilities(then),
                noise_method=noise_method,
                noise_by_decision=_noise_by_decision(then, present, noise_method),
                length_log_ratios=_log_ratios(con),
                margins=_figure(con, _MARGINS),
                humans=_humans(con),
                human_alpha=_overall(then, present, ANNOTATION_ALPHA, _ALPHA_COLUMNS),
                human_audit=_overall(then, present, ANNOTATION_AUDIT, _AUDIT_COLUMNS),
            )


# What each rule (decision, reason) did, with the estimated precision the evidence at the snapshot gives it
# (``curate.release.policy.outcomes``; the release stage stores the same in releases.counts, view release_rules).
_DECISION_COLUMNS = ("decision", "reason", "pairs", "scored", "est_precision", "mean_score")

_FLIP = f"decision = '{Decision.FLIP}'"
_REL = f"""
SELECT pair_id, prompt_id, decision, reason, split, margin, weight, human_verdict, human_against_judge,
       source, source_file, language, language_detected, tie, strength,
       length(chosen.content) AS chosen_chars, length(rejected.content) AS rejected_chars,
       CASE WHEN {_FLIP} THEN length(rejected.content) ELSE length(chosen.content) END AS out_chosen_chars,
       CASE WHEN {_FLIP} THEN length(chosen.content) ELSE length(rejected.content) END AS out_rejected_chars
FROM ({{candidates}})"""
"""``rel``: the release's rows with their pair content as of the release snapshot, lengths as ingested and as decided."""

_SOURCES = f"""
SELECT source, count(*) FILTER (split IS NOT NULL) AS pairs,
       count(*) FILTER (decision = '{Decision.KEEP}') AS kept, count(*) FILTER (decision = '{Decision.FLIP}') AS flipped,
       count(*) FILTER (decision = '{Decision.DROP}') AS dropped, min(source_file) AS example_file
FROM rel GROUP BY source ORDER BY pairs DESC, source"""

_LABELS = """
SELECT CASE WHEN tie THEN 'tie' WHEN strength IS NULL THEN 'preference (no strength)'
            ELSE 'preference, |strength| ' || abs(strength) END AS label,
       count(*) AS pairs, round(count(*) / sum(count(*)) OVER (), 4) AS share
FROM rel WHERE split IS NOT NULL GROUP BY ALL ORDER BY label"""

_LENGTH_BIAS = """
SELECT 'all candidates, labels as ingested' AS rows, count(*) AS pairs,
       round(count(*) FILTER (chosen_chars > rejected_chars) / nullif(count(*) FILTER (chosen_chars <> rejected_chars), 0), 4) AS chosen_longer_rate,
       round(median(chosen_chars), 1) AS median_chosen_chars, round(median(rejected_chars), 1) AS median_rejected_chars
FROM rel WHERE NOT tie
UNION ALL
SELECT 'released, labels as decided', count(*),
       round(count(*) FILTER (out_chosen_chars > out_rejected_chars) / nullif(count(*) FILTER (out_chosen_chars <> out_rejected_chars), 0), 4),
       round(median(out_chosen_chars), 1), round(median(out_rejected_chars), 1)
FROM rel WHERE NOT tie AND split IS NOT NULL"""

_MARGINS = """
SELECT 'pairs with a margin' AS stat, count(margin)::DOUBLE AS value FROM rel WHERE split IS NOT NULL
UNION ALL SELECT 'mean margin', round(avg(margin), 4) FROM rel WHERE split IS NOT NULL
UNION ALL SELECT 'pairs with a weight', count(weight)::DOUBLE FROM rel WHERE split IS NOT NULL
UNION ALL SELECT 'mean weight', round(avg(weight), 4) FROM rel WHERE split IS NOT NULL"""

# What people did to the release: the pairs they verified, how their verdicts decided (a keep confirms the label, a
# flip or a drop overrules it) and how often they disagreed with the judges (release_rows.human_* columns).
_HUMANS = f"""
SELECT * FROM (VALUES
    ('verified by people', (SELECT count(*) FROM rel WHERE human_verdict IS NOT NULL)),
    ('label confirmed (kept)', (SELECT count(*) FROM rel WHERE reason = '{Reason.HUMAN_OVERRIDE}' AND decision = '{Decision.KEEP}')),
    ('label overruled: flipped', (SELECT count(*) FROM rel WHERE reason = '{Reason.HUMAN_OVERRIDE}' AND decision = '{Decision.FLIP}')),
    ('label overruled: dropped as a tie', (SELECT count(*) FROM rel WHERE reason = '{Reason.HUMAN_OVERRIDE}' AND decision = '{Decision.DROP}')),
    ('dropped: annotators split', (SELECT count(*) FROM rel WHERE reason = '{Reason.HUMAN_SPLIT}')),
    ('people disagreed with the judges', (SELECT count(*) FROM rel WHERE human_against_judge)),
    ('people agreed with the judges', (SELECT count(*) FROM rel WHERE NOT human_against_judge))
) AS t(pairs, count)"""

# Judge quality as the judge stage defines it (view judge_quality, all sources), read at the release snapshot.
# Its columns are the judge stage's to choose; the card shows them as they are.
_JUDGES = f"SELECT * EXCLUDE (source) FROM {JUDGE_QUALITY} WHERE source = '*'"
_JUDGE_COLUMNS = ("judge", "template", "attribute", "pairs", "consistency", "accuracy")

# Scores of the latest run of each method, for the release's candidates.
_NOISE = f"""
SELECT n.method, count(*) AS pairs, round(avg(n.score), 4) AS mean, round(median(n.score), 4) AS p50,
       round(quantile_cont(n.score, 0.9), 4) AS p90, round(max(n.score), 4) AS max,
       count(*) FILTER (n.score > 0.5) AS flagged_over_0_5
FROM {NOISE_SCORES_LATEST} n SEMI JOIN release_decisions USING (pair_id)
GROUP BY n.method ORDER BY n.method = '{NoiseMethod.FUSED}' DESC, n.method"""
_NOISE_COLUMNS = ("method", "pairs", "mean", "p50", "p90", "max", "flagged_over_0_5")


def _judges(then: duckdb.DuckDBPyConnection, present: set[str]) -> Figure:
    """The judge stage's quality view on ``then`` (the release snapshot); empty without judgments there."""
    if {JUDGMENTS.name, JUDGE_QUALITY} - present or not then.execute(f"SELECT EXISTS (SELECT 1 FROM {JUDGMENTS.name})").fetchone()[0]:
        return Figure(_JUDGE_COLUMNS)
    return _figure(then, _JUDGES)


def _noise(then: duckdb.DuckDBPyConnection, present: set[str]) -> Figure:
    if NOISE_SCORES_LATEST not in present:
        return Figure(_NOISE_COLUMNS)
    return _figure(then, _NOISE)


def _reliabilities(then: duckdb.DuckDBPyConnection) -> Figure:
    """The estimated reliabilities of the last noise run before the release: what the fused score weighed."""
    return _figure(then, f"SELECT annotator, reliability, weight FROM {NOISE_RELIABILITIES} WHERE run_id = "
                         f"(SELECT run_id FROM {NOISE_RELIABILITIES} ORDER BY finished_at DESC LIMIT 1) ORDER BY annotator")


def _humans(con: duckdb.DuckDBPyConnection) -> Figure:
    """The human-verification counts; no rows when people verified none of the release's pairs."""
    figure = _figure(con, _HUMANS)
    return figure if figure.rows and figure.rows[0][1] else Figure(figure.columns)


def _overall(then: duckdb.DuckDBPyConnection, present: set[str], view: str, columns: tuple[str, ...]) -> Figure:
    """The overall row (batch '*', source '*') of an annotation view at the release snapshot, in ``columns``; no rows
    when the view is absent, fails or has no such row, or when it counts nothing (the annotation stage's views)."""
    if view not in present:
        return Figure(columns)
    try:
        figure = _figure(then, f"SELECT {', '.join(columns)} FROM {view} WHERE batch_id = '*' AND source = '*'")
    except duckdb.Error:
        return Figure(columns)
    return figure if figure.rows and figure.rows[0][0] else Figure(columns)


def _noise_by_decision(then: duckdb.DuckDBPyConnection, present: set[str], method: str) -> dict[str, list[float]]:
    """Scores of the noise method the policy read, for the release's candidates, grouped by the decision taken."""
    if NOISE_SCORES_LATEST not in present:
        return {}
    sql = (f"SELECT r.decision, list(n.score ORDER BY n.score) FROM release_decisions r JOIN {NOISE_SCORES_LATEST} n "
           "USING (pair_id) WHERE n.method = ? AND n.score IS NOT NULL GROUP BY r.decision ORDER BY r.decision")
    return {decision: list(scores) for decision, scores in then.execute(sql, [method]).fetchall()}


def _log_ratios(con: duckdb.DuckDBPyConnection) -> dict[str, list[float]]:
    """log2(chosen chars / rejected chars) per non-tie pair: before (as ingested) and after the decisions."""
    before, after = con.execute(
        "SELECT list(log2(greatest(chosen_chars, 1) / greatest(rejected_chars, 1))), "
        "list(log2(greatest(out_chosen_chars, 1) / greatest(out_rejected_chars, 1))) FILTER (split IS NOT NULL) "
        "FROM rel WHERE NOT tie"
    ).fetchone()
    return {"candidates": list(before or []), "released": list(after or [])}


def _figure(con: duckdb.DuckDBPyConnection, sql: str) -> Figure:
    relation = con.sql(sql)
    return Figure(tuple(relation.columns), tuple(relation.fetchall()))
