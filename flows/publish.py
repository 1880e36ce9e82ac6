"""Release outputs flow: the staged Hub folder (a publish dry run) and the HTML report of one release.

The staged folder is exactly what ``curate publish`` would upload (data shards, card, plots),
checked the same way: a license, the folder loads with ``datasets``, no unacknowledged PII.
Both outputs are made by one task from one collection of the release's facts (the card and
the report read the same facts). The task receives the warehouse path and its config as a
dict (release name, output paths, the card config), and returns paths and counts, never
DataFrames.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from pydantic import BaseModel, ConfigDict, Field

from curate.publish import facts as release_facts
from curate.publish import hub, report
from curate.publish.card import CardConfig
from curate.warehouse import Warehouse
from flows.tasks import stage_task

STAGE = "publish"


class OutputsConfig(BaseModel):
    """What the release outputs task makes, and where."""

    model_config = ConfigDict(extra="forbid")

    release: str = Field(description="the release to stage and report on")
    folder: str = Field(description="the staged Hub folder; must be new or empty")
    report: str = Field(description="the HTML report file")
    repo: str = Field(description="the dataset repo the card names")
    card: CardConfig = Field(default_factory=CardConfig, description="the dataset card config")


def _outputs(wh: Warehouse, cfg: OutputsConfig) -> dict:
    """Stage the release's Hub folder and run every publishing check (uploading nothing), then write its report."""
    facts = release_facts.collect(wh, cfg.release)
    result = hub.publish(wh, cfg.release, repo=cfg.repo, dry_run_dir=Path(cfg.folder), cfg=cfg.card, facts=facts)
    get_run_logger().info(f"staged {len(result.files)} files of {cfg.release} in {cfg.folder}; "
                          f"splits {', '.join(result.splits)}")
    page = report.write(wh, cfg.release, Path(cfg.report), cfg.card, facts=facts)
    staged = {"folder": cfg.folder, "files": result.files, "splits": list(result.splits), "pii_hits": result.pii_hits}
    return {"staged": staged, "report": str(page)}


outputs_task = stage_task(STAGE, _outputs, OutputsConfig, name="release-outputs",
                          failure=lambda cfg, exc: f"release outputs of {cfg.release} failed")


@flow(name="curate-release-outputs")
def release_outputs_flow(warehouse: str, release: str, out_dir: str, card: dict | None = None, repo: str | None = None) -> dict:
    """``{out_dir}/{release}/`` (the Hub folder) and ``{out_dir}/{release}.html`` (the report)."""
    return outputs_task(warehouse, {"release": release, "folder": str(Path(out_dir) / release),
                                    "report": str(Path(out_dir) / f"{release}.html"), "repo": repo or f"org/{release}",
                                    "card": card or {}})
