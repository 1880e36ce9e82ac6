"""Releases: immutable, reproducible dataset versions decided by a policy.

``run`` reads the warehouse as of one DuckLake snapshot, applies a policy
(``curate.release.policy``: noise thresholds, human overrides, scope filters,
margins, splits) to every pair, and commits one ``releases`` row plus one
``release_rows`` row per pair: keep, flip or drop with one reason code, and
the split of the pair's prompt. The release stores the snapshot it read, its
parent and the policy with its hash, so ``rematerialize`` can re-run the same
query at the same snapshot (time travel) and get the same rows, bit for bit.
Names are never reused. Exports (``curate.release.export``) and cards read ``rows``:
the pair content as of the release snapshot, oriented as decided.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from curate.errors import CurateError, Terminal
from curate.release.policy import Decision, Reason, ReleasePolicy, decide, load_policy
from curate.stage import StageResult, new_run_id, utcnow
from curate.warehouse import LAKE, Warehouse, retry_on_conflict
from schemas import PAIRS, RELEASE_ROWS, RELEASES, RUNS

STAGE = "release"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

__all__ = [
    "STAGE", "Decision", "DiffResult", "Reason", "ReleaseError", "ReleaseExists", "ReleaseInfo", "ReleasePolicy",
    "UnknownRelease", "diff", "get", "load_policy", "rematerialize", "rows", "run",
]


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


def run(wh: Warehouse, name: str, policy: ReleasePolicy | None = None, *, parent: str | None = None) -> StageResult:
    """Materialize release ``name`` from the warehouse as it is now, under ``policy`` (default: the default policy)."""
    policy = policy or load_policy(None)
    if not _NAME.fullmatch(name):
        raise ReleaseError(f"bad release name {name!r}: letters, digits, '.', '_' and '-', starting with a letter or digit")
    started, run_id = utcnow(), new_run_id(STAGE)
    with wh.connect(read_only=True) as con:
        _refuse_taken(con, name)
        if parent is not None:
            _info(con, parent)  # the parent must exist
        snapshot = _latest_snapshot(con)
        table = decide(con, policy, name)
        if _latest_snapshot(con) != snapshot:  # a writer committed meanwhile: read exactly the snapshot recorded
            table = None
    if table is None:
        with wh.connect(at=snapshot) as con:
            table = decide(con, policy, name)
    counts = _counts(table)

    def once() -> None:
        with wh.transaction(run_id, f"release {name} run={run_id}") as tx:
            _refuse_taken(tx.con, name)
            tx.con.register("_decided", table)
            tx.execute(f"INSERT INTO {RELEASE_ROWS.name} BY NAME SELECT *, ? AS run_id FROM _decided", [run_id])
            tx.con.unregister("_decided")
            tx.append(RELEASES, [{
                "name": name, "parent": parent, "snapshot_id": snapshot, "policy": policy.canonical_json(),
                "policy_hash": policy.hash, "counts": json.dumps(counts), "run_id": run_id, "created_at": started,
            }])
            tx.record_run(STAGE, started, json.dumps({"name": name, "parent": parent, "snapshot_id": snapshot,
                                                      "policy": policy.model_dump(mode="json")}), counts)

    retry_on_conflict(once)
    return StageResult(
        stage=STAGE,
        run_id=run_id,
        started_at=started,
        finished_at=utcnow(),
        rows_in=counts["rows"],
        rows_written=counts["rows"],
        snapshot_id=wh.snapshot_of(run_id),
        tables_written=(RELEASES.name, RELEASE_ROWS.name, RUNS.name),
        outcomes=counts["decisions"],
        dropped={k.removeprefix("drop:"): v for k, v in counts["decision_reasons"].items() if k.startswith("drop:")},
    )


def get(wh: Warehouse, name: str) -> ReleaseInfo:
    """The release's row: snapshot read, parent, policy and its hash, counts."""
    with wh.connect(read_only=True, views=False) as con:
        return _info(con, name)


def rows(wh: Warehouse, name: str, *, include_dropped: bool = False) -> pa.Table:
    """The released rows with their content as of the release snapshot, oriented as decided (a flip swaps
    chosen and rejected), ordered by split and pair_id. Dropped rows only with ``include_dropped``
    (their chosen/rejected stay as stored, split/margin/weight NULL)."""
    with wh.connect(read_only=True, views=False) as con:
        info = _info(con, name)
        return con.execute(rows_sql(info, include_dropped=include_dropped)).to_arrow_table()


def rows_sql(info: ReleaseInfo, *, include_dropped: bool = False) -> str:
    """The query behind ``rows``: release_rows joined with ``pairs`` as of the release snapshot. Exports select from it."""
    dropped = "" if include_dropped else "AND r.decision <> 'drop'"
    release = info.name.replace("'", "''")  # names are validated; quoted anyway, for COPY, which takes no parameters
    return f"""
    SELECT r.pair_id, r.prompt_id, r.split, r.decision, r.reason, r.margin, r.weight,
           p.prompt,
           CASE WHEN r.decision = 'flip' THEN p.rejected ELSE p.chosen END AS chosen,
           CASE WHEN r.decision = 'flip' THEN p.chosen ELSE p.rejected END AS rejected,
           p.source, p.language, p.kind, p.tie, p.strength, p.annotator
    FROM {RELEASE_ROWS.name} r
    JOIN {PAIRS.name} p AT (VERSION => {int(info.snapshot_id)}) USING (pair_id)
    WHERE r.release = '{release}' {dropped}
    ORDER BY r.split NULLS LAST, r.pair_id
    """


def rematerialize(wh: Warehouse, name: str) -> pa.Table:
    """Re-run the release's stored policy at its stored snapshot; equal to ``stored_rows`` for an intact release."""
    info = get(wh, name)
    with wh.connect(at=info.snapshot_id) as con:
        return decide(con, info.policy, name)


def stored_rows(wh: Warehouse, name: str) -> pa.Table:
    """``release_rows`` of a release in ``rematerialize``'s columns and order."""
    get(wh, name)
    with wh.connect(read_only=True, views=False) as con:
        return con.execute(
            f"SELECT release, pair_id, prompt_id, decision, reason, split, margin, weight FROM {RELEASE_ROWS.name} "
            "WHERE release = ? ORDER BY pair_id", [name]
        ).to_arrow_table()


def diff(wh: Warehouse, a: str, b: str) -> DiffResult:
    """Added (released in b, not in a), removed (the reverse) and flipped (released in both, label orientation changed)."""
    with wh.connect(read_only=True, views=False) as con:
        _info(con, a)
        _info(con, b)
        changes = con.execute(
            f"""
            WITH a AS (SELECT pair_id, decision, reason FROM {RELEASE_ROWS.name} WHERE release = $a),
                 b AS (SELECT pair_id, decision, reason FROM {RELEASE_ROWS.name} WHERE release = $b),
                 joined AS (
                    SELECT coalesce(a.pair_id, b.pair_id) AS pair_id,
                           a.decision AS a_decision, a.reason AS a_reason, b.decision AS b_decision, b.reason AS b_reason,
                           coalesce(a.decision <> 'drop', false) AS in_a, coalesce(b.decision <> 'drop', false) AS in_b
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


def _counts(table: pa.Table) -> dict:
    """Rows per decision, reason, decision:reason and split (the dict stored in ``releases.counts``)."""
    def tally(column) -> dict[str, int]:
        values = column.value_counts().to_pylist()
        return {str(v["values"]): v["counts"] for v in sorted(values, key=lambda v: str(v["values"]))}

    decisions = {d.value: 0 for d in Decision} | tally(table.column("decision"))
    pairs = pc.binary_join_element_wise(table.column("decision"), table.column("reason"), ":")
    split = table.column("split").drop_null()
    return {
        "rows": table.num_rows,
        "decisions": decisions,
        "reasons": tally(table.column("reason")),
        "decision_reasons": tally(pairs),
        "splits": tally(split),
    }


def _latest_snapshot(con) -> int:
    return con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()[0]


def _refuse_taken(con, name: str) -> None:
    if con.execute(f"SELECT count(*) FROM {RELEASES.name} WHERE name = ?", [name]).fetchone()[0]:
        raise ReleaseExists(f"release {name!r} already exists and releases are immutable: choose a new name", release=name)


def _info(con, name: str) -> ReleaseInfo:
    row = con.execute(
        f"SELECT name, snapshot_id, parent, policy, policy_hash, counts, created_at, run_id FROM {RELEASES.name} WHERE name = ?",
        [name],
    ).fetchone()
    if row is None:
        known = [r[0] for r in con.execute(f"SELECT name FROM {RELEASES.name} ORDER BY created_at").fetchall()]
        raise UnknownRelease(f"no release named {name!r}; releases: {', '.join(known) or 'none yet'}", release=name)
    name, snapshot, parent, policy, policy_hash, counts, created_at, run_id = row
    return ReleaseInfo(name=name, snapshot_id=snapshot, parent=parent, policy=ReleasePolicy.model_validate_json(policy),
                       policy_hash=policy_hash, counts=json.loads(counts), created_at=created_at, run_id=run_id)
