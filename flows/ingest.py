"""Ingest flow: one Prefect task per source, each a single DuckLake snapshot.

Runs on Prefect's local ephemeral server with no setup. Tasks receive the
warehouse path and a config dict and return the stage result as a dict
(counts, snapshot id, tables written), never DataFrames. Ingest is never
skipped as already done: its input is files, which can change.
"""

from __future__ import annotations

from prefect import flow

from curate import ingest
from curate.errors import CurateError, NoValidRows
from curate.warehouse import Warehouse
from flows.tasks import stage_task


def _failure(cfg: ingest.IngestConfig, exc: CurateError) -> str:
    """A source with no valid row fails the task (its rejects are still recorded)."""
    return f"ingest of {cfg.source} " + ("found no valid row" if isinstance(exc, NoValidRows) else "failed")


ingest_task = stage_task(ingest.STAGE, ingest.run, ingest.IngestConfig, failure=_failure)


@flow(name="curate-ingest")
def ingest_flow(warehouse: str, sources: list[dict]) -> list[dict]:
    """Ingest each source config in order into the warehouse (created when missing)."""
    Warehouse.init(warehouse)
    return [ingest_task(warehouse, config) for config in sources]
