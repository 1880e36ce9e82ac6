"""Release flow: materialize a release, then export it in each requested format.

Tasks pass the warehouse path, the release name, the policy as a dict and
output folders; they return the stage result and the export summary as dicts
(files as paths), never DataFrames.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from curate import release
from curate.release import export
from curate.errors import CurateError, StageFailed
from curate.warehouse import Warehouse


@task(name=release.STAGE, retries=0)
def release_task(warehouse: str, name: str, policy: dict | None = None, parent: str | None = None) -> dict:
    """Materialize release ``name``; ``policy`` is a policy mapping (None: the default policy)."""
    cfg = release.ReleasePolicy.model_validate(policy) if policy is not None else release.load_policy(None)
    try:
        result = release.run(Warehouse.open(warehouse), name, cfg, parent=parent)
    except CurateError as exc:
        raise StageFailed(f"release {name} failed", stage=release.STAGE) from exc
    get_run_logger().info(str(result))
    return result.as_dict()


@task(name="export", retries=0)
def export_task(warehouse: str, name: str, fmt: str, out_dir: str) -> dict:
    """Write release ``name`` as ``fmt`` under ``out_dir``; returns the files per split and the rows per split."""
    try:
        result = export.run(Warehouse.open(warehouse), name, fmt, out_dir, overwrite=True)
    except CurateError as exc:
        raise StageFailed(f"export of {name} as {fmt} failed", stage="export") from exc
    get_run_logger().info(str(result))
    return {"release": name, "format": fmt, "out_dir": str(result.out_dir), "rows": result.rows,
            "files": {split: [str(p) for p in paths] for split, paths in result.split_files.items()}}


@flow(name="curate-release")
def release_flow(warehouse: str, name: str, out_dir: str, formats: list[str] | None = None,
                 policy: dict | None = None, parent: str | None = None) -> dict:
    """Release, then export to ``out_dir/<format>`` for each format (default: trl and hub)."""
    made = release_task(warehouse, name, policy, parent)
    exports = [export_task(warehouse, name, fmt, str(Path(out_dir) / fmt)) for fmt in formats or ["trl", "hub"]]
    return {"release": made, "exports": exports}
