"""What every stage returns, and the run ids that tie rows to runs."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone


def new_run_id(stage: str) -> str:
    """A sortable, unique run id such as ``ingest-20261124T203000-1a2b3c4d``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stage}-{stamp}-{uuid.uuid4().hex[:8]}"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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

    def as_dict(self) -> dict:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["tables_written"] = list(self.tables_written)
        return data

    def __str__(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        outcomes = ", ".join(f"{k}={v}" for k, v in self.outcomes.items())
        return (
            f"{self.stage} run={self.run_id} snapshot={self.snapshot_id}: {self.rows_in} rows in "
            f"({outcomes}), {self.rows_written} written in {seconds:.1f}s"
        )
