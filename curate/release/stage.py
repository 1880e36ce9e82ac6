"""Stage ``release``: an immutable, reproducible dataset version decided by a policy.

``run`` reads the warehouse as of one DuckLake snapshot, applies a policy
(``curate.release.policy``: noise rules, human overrides, scope filters,
margins, splits) to every pair, and commits one ``releases`` row plus one
``release_rows`` row per pair: keep, flip or drop with one reason code, and
the split of the pair's prompt. What each rule did (pairs, estimated precision,
mean score) is measured at the same snapshot and stored in ``releases.counts``
(``rules``; view ``release_rules``), because later noise runs change the evidence
it was judged by. The release stores the snapshot it read, its
parent and the policy with its hash, so ``store.rematerialize`` can re-run the
same query at the same snapshot (time travel) and get the same rows, bit for bit.
Names are never reused. Exports (``curate.release.export``) and cards read
``store.rows``: the pair content as of the release snapshot, oriented as decided.
"""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.compute as pc

from curate.release.config import ReleaseConfig
from curate.release.policy import ReleasePolicy, decide, outcomes
from curate.release.store import ReleaseError, ReleaseExists, lookup
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import LAKE, Transaction, Warehouse
from schemas import ANNOTATIONS, CONFLICTS, JUDGMENTS, NOISE_SCORES, PAIRS, RELEASE_ROWS, RELEASES, RM_SCORES
from schemas.vocab import Decision, Verdict

STAGE = "release"
READS = (PAIRS, CONFLICTS, JUDGMENTS, NOISE_SCORES, RM_SCORES, ANNOTATIONS)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def run(wh: Warehouse, cfg: ReleaseConfig) -> StageResult:
    """Materialize release ``cfg.name`` from the warehouse as it is now, under ``cfg.policy``. ``details``: the
    counts stored in ``releases.counts`` (rows, decisions, reasons, decision_reasons, splits, rules), the name
    and the snapshot read."""
    name, policy = cfg.name, cfg.policy
    if not _NAME.fullmatch(name):
        raise ReleaseError(f"bad release name {name!r}: letters, digits, '.', '_' and '-', starting with a letter or digit")
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    with wh.connect(read_only=True) as con:
        _refuse_taken(con, name)
        if cfg.parent is not None:
            lookup(con, cfg.parent)  # the parent must exist
        snapshot = _latest_snapshot(con)
        decided = _decide(con, policy, name)
        if _latest_snapshot(con) != snapshot:  # a writer committed meanwhile: read exactly the snapshot recorded
            decided = None
    if decided is None:
        with wh.connect(at=snapshot) as con:
            decided = _decide(con, policy, name)
    table, rules = decided
    counts = _counts(table) | {"rules": rules}

    def write(tx: Transaction) -> Counts:
        _refuse_taken(tx.con, name)
        tx.con.register("_decided", table)
        tx.execute(f"INSERT INTO {RELEASE_ROWS.name} BY NAME SELECT *, ? AS run_id FROM _decided", [stage_run.run_id])
        tx.con.unregister("_decided")
        tx.wrote(RELEASE_ROWS)
        tx.append(RELEASES, [{
            "name": name, "parent": cfg.parent, "snapshot_id": snapshot, "policy": policy.canonical_json(),
            "policy_hash": policy.hash, "counts": json.dumps(counts), "run_id": stage_run.run_id,
            "created_at": stage_run.started_at,
        }])
        drops = f"{Decision.DROP}:"
        return Counts(
            rows_in=counts["rows"], rows_written=counts["rows"], outcomes=counts["decisions"],
            dropped={k.removeprefix(drops): v for k, v in counts["decision_reasons"].items() if k.startswith(drops)},
            details={**counts, "name": name, "snapshot_id": snapshot},
        )

    return stage_run.commit(wh, write, message=f"release {name}")


def _decide(con, policy: ReleasePolicy, name: str) -> tuple[pa.Table, dict[str, dict]]:
    """The release's rows, and per ``decision:reason`` what that rule did (``policy.outcomes``), both read on ``con``."""
    table = decide(con, policy, name)
    con.register("_decided", table)
    try:
        rules = outcomes(con, "_decided", policy.noise_method)
    finally:
        con.unregister("_decided")
    return table, {f"{d}:{r}": {"pairs": n, "scored": k, "est_precision": p, "mean_score": m} for d, r, n, k, p, m in rules}


def _counts(table: pa.Table) -> dict:
    """Rows per decision, reason, decision:reason and split, and the pairs people verified, voted against the label
    (rejected or tie) and against the judges (the dict stored in ``releases.counts``)."""
    def tally(column) -> dict[str, int]:
        values = column.value_counts().to_pylist()
        return {str(v["values"]): v["counts"] for v in sorted(values, key=lambda v: str(v["values"]))}

    decisions = {d.value: 0 for d in Decision} | tally(table.column("decision"))
    pairs = pc.binary_join_element_wise(table.column("decision"), table.column("reason"), ":")
    split = table.column("split").drop_null()
    human = table.column("human_verdict")
    return {
        "rows": table.num_rows,
        "decisions": decisions,
        "reasons": tally(table.column("reason")),
        "decision_reasons": tally(pairs),
        "splits": tally(split),
        "humans": {"verified": len(human) - human.null_count,
                   "against_label": pc.sum(pc.is_in(human, pa.array([Verdict.REJECTED.value, Verdict.TIE.value]))).as_py() or 0,
                   "against_judge": pc.sum(table.column("human_against_judge").fill_null(False)).as_py() or 0},
    }


def _latest_snapshot(con) -> int:
    return con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()[0]


def _refuse_taken(con, name: str) -> None:
    if con.execute(f"SELECT count(*) FROM {RELEASES.name} WHERE name = ?", [name]).fetchone()[0]:
        raise ReleaseExists(f"release {name!r} already exists and releases are immutable: choose a new name", release=name)
