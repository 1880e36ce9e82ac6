"""Release flow: materialize a release, then export it in each requested format.

Tasks pass the warehouse path and the release and export configs as dicts
(the policy as a mapping, output folders as paths); they return the stage
results and the export summaries as dicts (files as paths), never DataFrames.
Neither step is skipped as already done: each release is a new name.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from curate import release
from curate.release import export
from flows.tasks import details, stage_task

release_task = stage_task(release.STAGE, release.run, release.ReleaseConfig,
                          failure=lambda cfg, exc: f"release {cfg.name} failed")
export_task = stage_task(export.STAGE, export.run, release.ExportConfig,
                         failure=lambda cfg, exc: f"export of {cfg.release} as {cfg.format} failed")


@flow(name="curate-release")
def release_flow(warehouse: str, name: str, out_dir: str, formats: list[str] | None = None,
                 policy: dict | None = None, parent: str | None = None) -> dict:
    """Release (``policy`` None: the default policy), then export to ``out_dir/<format>`` for each format
    (default: trl and hub). Each export: release, format, out_dir, rows and files per split."""
    config = {"name": name, "parent": parent} | ({"policy": policy} if policy is not None else {})
    made = release_task(warehouse, config)
    exports = [details(export_task(warehouse, {"release": name, "format": fmt, "out_dir": str(Path(out_dir) / fmt),
                                               "overwrite": True}))
               for fmt in formats or ["trl", "hub"]]
    return {"release": made, "exports": exports}
