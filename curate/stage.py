"""The stage contract, written once: a run id, one committed snapshot, its ``runs`` row, its result.

Every stage's ``run(wh, cfg)`` does its reading and computing, then hands a
``write(tx)`` function to ``commit``. ``commit`` opens the transaction, calls
``write`` (which appends the stage's rows and returns its ``Counts``), records
the run in ``runs`` and its completion marker in ``stage_runs`` inside the same
transaction, replays the whole transaction when another writer won the commit,
and returns a ``StageResult`` whose snapshot id is read from the committing
connection itself::

    run = StageRun.start(wh, STAGE, cfg, reads=(PAIRS,))
    ...                                        # read and compute
    def write(tx):
        tx.append(JUDGMENTS, rows)
        return Counts(rows_in=len(items), rows_written=len(rows))
    return run.commit(wh, write, message=f"judge {len(rows)} judgments")

The completion marker is keyed by (stage, input snapshot, config hash): a flow
asks ``completed(wh, stage, input_snapshot, config_hash)`` before running a
stage and skips it when the same config already ran on the same input.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from curate.warehouse import Transaction, Warehouse, retry_on_conflict, run_snapshot
from schemas import RUNS, STAGE_RUNS, Table

if TYPE_CHECKING:
    from pydantic import BaseModel


def new_run_id(stage: str) -> str:
    """A sortable, unique run id such as ``ingest-20261124T203000-1a2b3c4d``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stage}-{stamp}-{uuid.uuid4().hex[:8]}"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def config_json(config: BaseModel | dict | None) -> str:
    """The canonical JSON of a stage config: what ``runs.config`` stores and ``config_hash`` hashes."""
    if config is None:
        return "{}"
    if isinstance(config, dict):
        return json.dumps(config, sort_keys=True, default=str)
    return json.dumps(config.model_dump(mode="json"), sort_keys=True)


def config_hash(config: BaseModel | dict | None) -> str:
    return hashlib.sha256(config_json(config).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Counts:
    """What a stage's write step reports: the StageResult counters, plus stage-specific ``details``
    (judge usage, release decisions, ...) that ``runs.counts`` keeps and the CLI prints."""

    rows_in: int
    rows_written: int
    dropped: dict[str, int] = field(default_factory=dict)
    error_count: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(asdict(self), default=str)


@dataclass(frozen=True)
class StageResult:
    """Counts and lineage of one stage run: what went in, what was written, what was dropped and why."""

    stage: str
    run_id: str
    started_at: datetime
    finished_at: datetime
    rows_in: int
    rows_written: int
    snapshot_id: int | None
    tables_written: tuple[str, ...] = ()
    outcomes: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    error_count: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["tables_written"] = list(self.tables_written)
        return data

    def __str__(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        outcomes = ", ".join(f"{k}={v}" for k, v in self.outcomes.items())
        dropped = ", ".join(f"{k}={v}" for k, v in self.dropped.items())
        return (
            f"{self.stage} run={self.run_id} snapshot={self.snapshot_id}: {self.rows_in} rows in"
            + (f" ({outcomes})" if outcomes else "")
            + f", {self.rows_written} written"
            + (f", dropped {dropped}" if dropped else "")
            + (f", {self.error_count} errors" if self.error_count else "")
            + f" in {seconds:.1f}s"
        )


@dataclass(frozen=True)
class StageRun:
    """One run of one stage, from its start: the id its rows carry and the config stored with it."""

    stage: str
    run_id: str
    started_at: datetime
    config: Any = None
    input_snapshot: int | None = None

    @classmethod
    def start(cls, wh: Warehouse, stage: str, config: BaseModel | dict | None = None, *,
              reads: tuple[Table, ...] = ()) -> StageRun:
        """A new run of ``stage``; ``reads`` are the tables it reads, whose latest change is its input snapshot."""
        return cls(stage=stage, run_id=new_run_id(stage), started_at=utcnow(), config=config,
                   input_snapshot=wh.input_snapshot(reads))

    def commit(self, wh: Warehouse, write: Callable[[Transaction], Counts], *, message: str) -> StageResult:
        """Run ``write`` in one transaction with the ``runs`` row and the completion marker; retried whole
        on a commit conflict (``write`` must be safe to call again). The result of the committed run."""
        def once() -> tuple[Counts, tuple[str, ...], int | None]:
            with wh.transaction(self.run_id, f"{message} run={self.run_id}") as tx:
                counts = write(tx)
                self._record(tx, counts)
            return counts, tx.tables_written, tx.snapshot_id

        counts, tables, snapshot = retry_on_conflict(once)
        return self.result(counts, snapshot_id=snapshot, tables_written=tables)

    def result(self, counts: Counts, *, snapshot_id: int | None, tables_written: tuple[str, ...] = ()) -> StageResult:
        """The StageResult of this run; ``commit`` fills it, and a stage that fails after writing uses it too."""
        return StageResult(
            stage=self.stage, run_id=self.run_id, started_at=self.started_at, finished_at=utcnow(),
            rows_in=counts.rows_in, rows_written=counts.rows_written, snapshot_id=snapshot_id,
            tables_written=tables_written, outcomes=dict(counts.outcomes), dropped=dict(counts.dropped),
            error_count=counts.error_count, details=dict(counts.details),
        )

    def _record(self, tx: Transaction, counts: Counts) -> None:
        finished = utcnow()
        stored_config = config_json(self.config)
        tx.append(RUNS, [{"run_id": self.run_id, "stage": self.stage, "started_at": self.started_at,
                          "finished_at": finished, "config": stored_config, "counts": counts.as_json()}])
        tx.append(STAGE_RUNS, [{"stage": self.stage, "input_snapshot": self.input_snapshot,
                                "config_hash": config_hash(self.config), "run_id": self.run_id,
                                "finished_at": finished}])


def completed(wh: Warehouse, stage: str, input_snapshot: int | None, config: BaseModel | dict | None) -> str | None:
    """The run id of a finished run of ``stage`` on ``input_snapshot`` with the same config, if any."""
    with wh.connect(read_only=True, views=False) as con:
        row = con.execute(
            f"SELECT max(run_id) FROM {STAGE_RUNS.name} WHERE stage = ? AND input_snapshot IS NOT DISTINCT FROM ? "
            "AND config_hash = ?", [stage, input_snapshot, config_hash(config)],
        ).fetchone()
    return row[0] if row else None


def recorded_result(wh: Warehouse, run_id: str) -> StageResult:
    """The StageResult of a committed run, rebuilt from its ``runs`` row: what a flow reports for a stage it
    skipped because that run already did the work."""
    with wh.connect(read_only=True, views=False) as con:
        row = con.execute(f"SELECT stage, started_at, finished_at, counts FROM {RUNS.name} WHERE run_id = ?",
                          [run_id]).fetchone()
        snapshot = run_snapshot(con, run_id)
    if row is None:
        raise KeyError(run_id)
    stage, started, finished, counts = row
    data = json.loads(counts)
    return StageResult(stage=stage, run_id=run_id, started_at=started, finished_at=finished,
                       rows_in=data.get("rows_in", 0), rows_written=data.get("rows_written", 0), snapshot_id=snapshot,
                       outcomes=data.get("outcomes", {}), dropped=data.get("dropped", {}),
                       error_count=data.get("error_count", 0), details=data.get("details", {}))
