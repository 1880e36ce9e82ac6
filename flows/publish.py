"""Release outputs flow: the staged Hub folder (a publish dry run) and the HTML report of one release.

The staged folder is exactly what ``curate publish`` would upload (data shards, card, plots),
checked the same way: a license, the folder loads with ``datasets``, no unacknowledged PII.
Tasks receive the warehouse path, the release name, output paths and the card config as a
dict, and return paths and counts, never DataFrames.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from curate.publish import hub as publish
from curate.publish import report
from curate.publish.card import CardConfig
from curate.errors import CurateError, StageFailed
from curate.warehouse import Warehouse


@task(name="publish-dry-run")
def stage_task(warehouse: str, release: str, out_dir: str, repo: str, card: dict) -> dict:
    """Stage the release's Hub folder into ``out_dir`` and run every publishing check; uploads nothing."""
    try:
        result = publish.publish(Warehouse.open(warehouse), release, repo=repo, dry_run_dir=Path(out_dir),
                                 cfg=CardConfig.model_validate(card))
    except CurateError as exc:
        raise StageFailed(f"staging release {release} failed", stage="publish") from exc
    get_run_logger().info(f"staged {len(result.files)} files of {release} in {out_dir}; splits {', '.join(result.splits)}")
    return {"folder": out_dir, "files": result.files, "splits": list(result.splits), "pii_hits": result.pii_hits}


@task(name="report")
def report_task(warehouse: str, release: str, out: str, card: dict) -> str:
    """Write the release's self-contained HTML report to ``out``."""
    try:
        path = report.write(Warehouse.open(warehouse), release, Path(out), CardConfig.model_validate(card))
    except CurateError as exc:
        raise StageFailed(f"report of release {release} failed", stage="report") from exc
    return str(path)


@flow(name="curate-release-outputs")
def release_outputs_flow(warehouse: str, release: str, out_dir: str, card: dict | None = None, repo: str | None = None) -> dict:
    """``{out_dir}/{release}/`` (the Hub folder) and ``{out_dir}/{release}.html`` (the report)."""
    card = card or {}
    staged = stage_task(warehouse, release, str(Path(out_dir) / release), repo or f"org/{release}", card)
    page = report_task(warehouse, release, str(Path(out_dir) / f"{release}.html"), card)
    return {"staged": staged, "report": page}
