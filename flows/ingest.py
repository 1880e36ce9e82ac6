"""Ingest flow: one Prefect task per source, each a single DuckLake snapshot.

Runs on Prefect's local ephemeral server with no setup. Tasks receive the
warehouse path and a config dict and return the stage result as a dict
(counts, snapshot id, tables written), never DataFrames.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from curate import ingest
from curate.errors import CurateError, NoValidRows, StageFailed
from curate.warehouse import Warehouse


@task(name=ingest.STAGE, retries=0)
def ingest_task(warehouse: str, config: dict) -> dict:
    """Ingest one source; a source with no valid row fails the task (its rejects are still recorded)."""
    cfg = ingest.IngestConfig.model_validate(config)
    try:
        result = ingest.run(Warehouse.open(warehouse), cfg)
    except NoValidRows as exc:
        raise StageFailed(f"ingest of {cfg.source} found no valid row", stage=ingest.STAGE, run_id=exc.ids.get("run_id")) from exc
    except CurateError as exc:
        raise StageFailed(f"ingest of {cfg.source} failed", stage=ingest.STAGE) from exc
    get_run_logger().info(str(result))
    return result.as_dict()


@flow(name="curate-ingest")
def ingest_flow(warehouse: str, sources: list[dict]) -> list[dict]:
    """Ingest each source config in order into the warehouse (created when missing)."""
    Warehouse.init(warehouse)
    return [ingest_task(warehouse, config) for config in sources]
