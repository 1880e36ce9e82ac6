"""Reading releases: the one lookup by name, the one join of a release's rows with its pairs, and diffs.

A release is a ``releases`` row (the snapshot it read, its parent, its policy) and one
``release_rows`` row per candidate pair. Everything that reads a release (exports, cards,
facts, reward-model training) finds it with ``lookup``/``get`` and reads its pairs through
``candidates_sql``: ``release_rows`` joined with ``pairs AT (VERSION => snapshot)``, so the
content is the content the release decided on, whatever was ingested later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from curate.errors import CurateError, Terminal
from curate.release.policy import ReleasePolicy, decide
from curate.warehouse import Warehouse
from schemas import PAIRS, RELEASE_ROWS, RELEASES
from schemas.release import HUMANS_CHANGES
from schemas.vocab import Decision

_HUMAN_COLUMNS = ", ".join(c.name for step in HUMANS_CHANGES for c in step.columns)
"""What the humans and the judges said on a pair (release_rows v2; NULL in releases made before it)."""


class ReleaseError(Terminal, CurateError):
    exit_code = 2


class ReleaseExists(ReleaseError):
    """A release name is taken: releases are immutable, make a new name."""


class UnknownRelease(ReleaseError):
    pass


@dataclass(frozen=True)
class ReleaseInfo:
    name: str
    snapshot_id: int
    parent: str | None
    policy: ReleasePolicy
    policy_hash: str
    counts: dict
    created_at: datetime
    run_id: str


@dataclass(frozen=True)
class DiffResult:
    """Pairs released (kept or flipped) in ``b`` but not ``a``, the reverse, and those whose orientation changed."""

    a: str
    b: str
    added: list[str]
    removed: list[str]
    flipped: list[str]
    changes: pa.Table  # one row per pair in any list: pair_id, change, a/b decision and reason


def lookup(con: duckdb.DuckDBPyConnection, name: str) -> ReleaseInfo:
    """The ``releases`` row of ``name`` read on ``con``; ``UnknownRelease`` lists the releases that exist."""
    row = con.execute(
        f"SELECT name, snapshot_id, parent, policy, policy_hash, counts, created_at, run_id FROM {RELEASES.name} "
        "WHERE name = ?", [name],
    ).fetchone()
    if row is None:
        known = [r[0] for r in con.execute(f"SELECT name FROM {RELEASES.name} ORDER BY created_at").fetchall()]
        raise UnknownRelease(f"no release named {name!r}; releases: {', '.join(known) or 'none yet'}", release=name)
    name, snapshot, parent, policy, policy_hash, counts, created_at, run_id = row
    return ReleaseInfo(name=name, snapshot_id=snapshot, parent=parent, policy=ReleasePolicy.from_stored(policy),
                       policy_hash=policy_hash, counts=json.loads(counts), created_at=created_at, run_id=run_id)


def get(wh: Warehouse, name: str) -> ReleaseInfo:
    """The release's row: snapshot read, parent, policy and its hash, counts."""
    with wh.connect(read_only=True, views=False) as con:
        return lookup(con, name)


def candidates_sql(info: ReleaseInfo) -> str:
    """Every row of the release, dropped ones too, beside its pair as ingested, as of the release snapshot:
    the decision columns of ``release_rows`` (with what the humans and judges said), then the pair's content and provenance (labels not yet oriented).
    The one release-pairs join: ``rows_sql``, the facts and the reward-model eval set select from it."""
    return f"""
    SELECT r.pair_id, r.prompt_id, r.split, r.decision, r.reason, r.margin, r.weight, {_HUMAN_COLUMNS},
           p.prompt, p.chosen, p.rejected, p.source, p.source_file, p.language, p.language_detected,
           p.kind, p.tie, p.strength, p.annotator
    FROM {RELEASE_ROWS.name} r
    JOIN {PAIRS.name} p AT (VERSION => {int(info.snapshot_id)}) USING (pair_id)
    WHERE r.release = {_literal(info.name)}"""


def rows_sql(info: ReleaseInfo, *, include_dropped: bool = False) -> str:
    """The query behind ``rows``: the candidates oriented as decided. Exports select from it."""
    dropped = "" if include_dropped else f"WHERE decision <> '{Decision.DROP}'"
    flip = f"decision = '{Decision.FLIP}'"
    return f"""
    SELECT pair_id, prompt_id, split, decision, reason, margin, weight, {_HUMAN_COLUMNS}, prompt,
           CASE WHEN {flip} THEN rejected ELSE chosen END AS chosen,
           CASE WHEN {flip} THEN chosen ELSE rejected END AS rejected,
           source, language, kind, tie, strength, annotator
    FROM ({candidates_sql(info)})
    {dropped}
    ORDER BY split NULLS LAST, pair_id
    """


def rows(wh: Warehouse, name: str, *, include_dropped: bool = False) -> pa.Table:
    """The released rows with their content as of the release snapshot, oriented as decided (a flip swaps
    chosen and rejected), ordered by split and pair_id. Dropped rows only with ``include_dropped``
    (their chosen/rejected stay as stored, split/margin/weight NULL)."""
    with wh.connect(read_only=True, views=False) as con:
        info = lookup(con, name)
        return con.execute(rows_sql(info, include_dropped=include_dropped)).to_arrow_table()


def rematerialize(wh: Warehouse, name: str) -> pa.Table:
    """Re-run the release's stored policy at its stored snapshot; equal to ``stored_rows`` for an intact release."""
    info = get(wh, name)
    with wh.connect(at=info.snapshot_id) as con:
        return decide(con, info.policy, name)


def stored_rows(wh: Warehouse, name: str) -> pa.Table:
    """``release_rows`` of a release in ``rematerialize``'s columns and order."""
    with wh.connect(read_only=True, views=False) as con:
        lookup(con, name)
        return con.execute(
            f"SELECT release, pair_id, prompt_id, decision, reason, split, margin, weight, {_HUMAN_COLUMNS} FROM {RELEASE_ROWS.name} "
            "WHERE release = ? ORDER BY pair_id", [name]
        ).to_arrow_table()


def diff(wh: Warehouse, a: str, b: str) -> DiffResult:
    """Added (released in b, not in a), removed (the reverse) and flipped (released in both, label orientation changed)."""
    with wh.connect(read_only=True, views=False) as con:
        lookup(con, a)
        lookup(con, b)
        changes = con.execute(
            f"""
            WITH a AS (SELECT pair_id, decision, reason FROM {RELEASE_ROWS.name} WHERE release = $a),
                 b AS (SELECT pair_id, decision, reason FROM {RELEASE_ROWS.name} WHERE release = $b),
                 joined AS (
                    SELECT coalesce(a.pair_id, b.pair_id) AS pair_id,
                           a.decision AS a_decision, a.reason AS a_reason, b.decision AS b_decision, b.reason AS b_reason,
                           coalesce(a.decision <> '{Decision.DROP}', false) AS in_a,
                           coalesce(b.decision <> '{Decision.DROP}', false) AS in_b
                    FROM a FULL OUTER JOIN b USING (pair_id)
                 )
            SELECT pair_id,
                   CASE WHEN in_b AND NOT in_a THEN 'added' WHEN in_a AND NOT in_b THEN 'removed' ELSE 'flipped' END AS change,
                   a_decision, a_reason, b_decision, b_reason
            FROM joined
            WHERE in_a <> in_b OR (in_a AND in_b AND a_decision <> b_decision)
            ORDER BY change, pair_id
            """,
            {"a": a, "b": b},
        ).to_arrow_table()
    kinds = changes.column("change").to_pylist()
    ids = changes.column("pair_id").to_pylist()
    pick = lambda kind: [p for p, k in zip(ids, kinds) if k == kind]  # noqa: E731
    return DiffResult(a=a, b=b, added=pick("added"), removed=pick("removed"), flipped=pick("flipped"), changes=changes)


def _literal(text: str) -> str:
    """A quoted SQL string: names are validated, quoted anyway, for ``COPY``, which takes no parameters."""
    return "'" + text.replace("'", "''") + "'"
