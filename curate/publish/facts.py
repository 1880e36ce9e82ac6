"""What a release is made of, gathered once for its dataset card, its HTML report and its plots.

Everything is read from the warehouse tables: the ``releases`` row, the decisions in
``release_rows``, and the pair content and evidence (``judgments``, ``noise_scores``) as of
the release's snapshot, so the figures describe exactly what the release decided on.
Evidence tables may be empty or may not exist yet: each figure is then empty (and the card
and report say so), never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from curate.release import UnknownRelease
from curate.warehouse import Warehouse

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
    noise_method: str = "fused"
    noise_by_decision: dict[str, list[float]] = field(default_factory=dict)
    length_log_ratios: dict[str, list[float]] = field(default_factory=dict)
    margins: Figure = Figure(("stat", "value"))

    @property
    def released_pairs(self) -> int:
        return sum(self.splits.column("pairs"))

    def decision_total(self, decision: str) -> int:
        return sum(r[2] for r in self.decisions.rows if r[0] == decision)


def collect(wh: Warehouse, name: str) -> ReleaseFacts:
    """All the facts of release ``name``; raises ``UnknownRelease`` listing the releases that exist."""
    with wh.connect(read_only=True, views=False) as con:
        row = con.execute(
            "SELECT snapshot_id, parent, policy, policy_hash, created_at, run_id FROM releases WHERE name = ?", [name]
        ).fetchone()
        if row is None:
            known = [r[0] for r in con.execute("SELECT name FROM releases ORDER BY created_at").fetchall()]
            raise UnknownRelease(f"no release named {name!r}; releases: {', '.join(known) or 'none yet'}", release=name)
        snapshot, parent, stored_policy, policy_hash, created_at, run_id = row
        policy = _policy(stored_policy)
        noise_method = policy.get("noise_method") or "fused"
        _release_rows_view(con, name, snapshot)
        return ReleaseFacts(
            name=name,
            snapshot_id=snapshot,
            parent=parent,
            policy=policy,
            policy_hash=policy_hash,
            created_at=created_at,
            run_id=run_id,
            decisions=_figure(con, "SELECT decision, reason, count(*) AS pairs FROM rel GROUP BY ALL ORDER BY decision, pairs DESC, reason"),
            splits=_figure(con, "SELECT split, count(*) AS pairs, count(DISTINCT prompt_id) AS prompts FROM rel "
                                "WHERE split IS NOT NULL GROUP BY split ORDER BY split = 'train' DESC, split = 'validation' DESC, split"),
            sources=_figure(con, _SOURCES),
            languages=_figure(con, "SELECT language, count(*) AS pairs, count(*) FILTER (language_detected) AS detected FROM rel "
                                   "WHERE split IS NOT NULL GROUP BY ALL ORDER BY pairs DESC, language"),
            labels=_figure(con, _LABELS),
            length_bias=_figure(con, _LENGTH_BIAS),
            judges=_judges(wh, snapshot) if _has_rows(con, "judgments", snapshot) else Figure(_JUDGE_COLUMNS),
            noise=_evidence(con, _NOISE.format(at=snapshot), ("method", "pairs", "mean", "p50", "p90", "max", "flagged_over_0_5")),
            noise_method=noise_method,
            noise_by_decision=_noise_by_decision(con, snapshot, noise_method),
            length_log_ratios=_log_ratios(con),
            margins=_figure(con, _MARGINS),
        )


def _release_rows_view(con: duckdb.DuckDBPyConnection, name: str, snapshot: int) -> None:
    """``rel``: the release's rows with their pair content as of the release snapshot, labels as decided."""
    con.execute(
        f"""CREATE TEMP VIEW rel AS
        SELECT r.pair_id, r.prompt_id, r.decision, r.reason, r.split, r.margin, r.weight,
               p.source, p.source_file, p.language, p.language_detected, p.tie, p.strength,
               length(p.chosen.content) AS chosen_chars, length(p.rejected.content) AS rejected_chars,
               CASE WHEN r.decision = 'flip' THEN length(p.rejected.content) ELSE length(p.chosen.content) END AS out_chosen_chars,
               CASE WHEN r.decision = 'flip' THEN length(p.chosen.content) ELSE length(p.rejected.content) END AS out_rejected_chars
        FROM release_rows r
        JOIN (SELECT * FROM pairs AT (VERSION => {int(snapshot)})) p USING (pair_id)
        WHERE r.release = {_literal(name)}"""
    )


_SOURCES = """
SELECT source, count(*) FILTER (split IS NOT NULL) AS pairs,
       count(*) FILTER (decision = 'keep') AS kept, count(*) FILTER (decision = 'flip') AS flipped,
       count(*) FILTER (decision = 'drop') AS dropped, min(source_file) AS example_file
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

# Judge quality as the judge stage defines it (view judge_quality, all sources), read at the release snapshot.
# Its columns are the judge stage's to choose; the card shows them as they are.
_JUDGES = "SELECT * EXCLUDE (source) FROM judge_quality WHERE source = '*'"
_JUDGE_COLUMNS = ("judge", "template", "attribute", "pairs", "consistency", "accuracy")

_NOISE = """
SELECT n.method, count(*) AS pairs, round(avg(n.score), 4) AS mean, round(median(n.score), 4) AS p50,
       round(quantile_cont(n.score, 0.9), 4) AS p90, round(max(n.score), 4) AS max,
       count(*) FILTER (n.score > 0.5) AS flagged_over_0_5
FROM (SELECT * FROM noise_scores AT (VERSION => {at})) n SEMI JOIN rel USING (pair_id)
GROUP BY n.method ORDER BY n.method = 'fused' DESC, n.method"""


def _has_rows(con: duckdb.DuckDBPyConnection, table: str, snapshot: int) -> bool:
    """Whether ``table`` exists and has rows at ``snapshot`` (a cheap check before an expensive view)."""
    try:
        return con.execute(f"SELECT EXISTS (SELECT 1 FROM {table} AT (VERSION => {int(snapshot)}))").fetchone()[0]
    except duckdb.CatalogException:
        return False


def _judges(wh: Warehouse, snapshot: int) -> Figure:
    """The judge stage's quality view as of the release snapshot (its views are made for that snapshot)."""
    with wh.connect(read_only=True, at=snapshot) as con:
        return _evidence(con, _JUDGES, _JUDGE_COLUMNS)


def _noise_by_decision(con: duckdb.DuckDBPyConnection, snapshot: int, method: str) -> dict[str, list[float]]:
    """Scores of the noise method the policy read, for the release's candidates, grouped by the decision taken."""
    sql = (f"SELECT r.decision, list(n.score ORDER BY n.score) FROM rel r JOIN (SELECT * FROM noise_scores AT (VERSION => {int(snapshot)})) n "
           "USING (pair_id) WHERE n.method = ? AND n.score IS NOT NULL GROUP BY r.decision ORDER BY r.decision")
    try:
        return {decision: list(scores) for decision, scores in con.execute(sql, [method]).fetchall()}
    except duckdb.CatalogException:
        return {}


def _log_ratios(con: duckdb.DuckDBPyConnection) -> dict[str, list[float]]:
    """log2(chosen chars / rejected chars) per non-tie pair: before (as ingested) and after the decisions."""
    before, after = con.execute(
        "SELECT list(log2(greatest(chosen_chars, 1) / greatest(rejected_chars, 1))), "
        "list(log2(greatest(out_chosen_chars, 1) / greatest(out_rejected_chars, 1))) FILTER (split IS NOT NULL) "
        "FROM rel WHERE NOT tie"
    ).fetchone()
    return {"candidates": list(before or []), "released": list(after or [])}


def _policy(stored: str | dict | None) -> dict:
    return json.loads(stored) if isinstance(stored, str) else dict(stored or {})


def _figure(con: duckdb.DuckDBPyConnection, sql: str) -> Figure:
    relation = con.sql(sql)
    return Figure(tuple(relation.columns), tuple(relation.fetchall()))


def _evidence(con: duckdb.DuckDBPyConnection, sql: str, columns: tuple[str, ...]) -> Figure:
    """An evidence figure; a table that does not exist at the release snapshot gives an empty one."""
    try:
        return _figure(con, sql)
    except duckdb.CatalogException:
        return Figure(columns)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
