"""The one Prefect task wrapper: every flow step is a library call turned into a task here.

A task gets the warehouse path and its config, as a dict or as the path of a
pipeline YAML whose section of the stage's name it reads (so a config holding
an endpoint or the name of a secret's variable never becomes a Prefect
parameter), and returns a dict (the stage's ``StageResult.as_dict()``, or a
step's paths and counts), never DataFrames. Around the call the wrapper:

- opens the warehouse, and tags every snapshot the stage commits with the Prefect flow-run id;
- for a stage that reads only warehouse tables (``skip_when_done``: the tables
  it reads, the same as the stage's own ``StageRun.start(reads=...)``), skips
  the call when a clean run with the same config already finished on the same
  input, and returns that run's recorded result marked ``skipped``;
- logs ``str(result)`` and publishes it as a markdown artifact (a table the Prefect UI shows per task run);
- turns a ``CurateError`` into ``StageFailed(stage=..., run_id=...)`` raised
  ``from`` the cause, and lets Prefect retry only when the cause is
  ``Transient`` (a commit conflict, a rate limit), never a bad input or config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from prefect import Task, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel

from curate.config import load_section
from curate.errors import CurateError, StageFailed, Transient
from curate.stage import StageResult, completed, recorded_result
from curate.warehouse import COMMIT_TAGS, Warehouse

if TYPE_CHECKING:
    from prefect.client.schemas.objects import TaskRun
    from prefect.states import State

    from schemas import Table

C = TypeVar("C", bound=BaseModel)

RETRIES = 2
RETRY_DELAY_S = [5, 30]


def transient_only(task: Task, task_run: TaskRun, state: State) -> bool:
    """Prefect's ``retry_condition_fn``: retry a failed task only when its cause may succeed later."""
    exc = state.data
    if not isinstance(exc, BaseException):  # a persisted result: read the exception back
        exc = state.result(raise_on_failure=False)
    return isinstance(exc, Transient) or isinstance(getattr(exc, "__cause__", None), Transient)


def stage_task(
    stage: str,
    step: Callable[[Warehouse, C], StageResult | dict],
    config: type[C],
    *,
    name: str | None = None,
    skip_when_done: tuple[Table, ...] = (),
    failure: Callable[[C, CurateError], str] | None = None,
    fixed: dict[str, Any] | None = None,
) -> Task[..., dict]:
    """The Prefect task ``(warehouse: str, config: dict | str) -> dict`` that runs ``step(wh, config.model_validate(...))``;
    a ``str`` config is a pipeline YAML's path, read for its ``name or stage`` section.

    ``name``: the task name (default ``stage``). ``skip_when_done``: the tables the stage reads; when given,
    a run with the same config on the same input is not repeated. ``failure(cfg, exc)``: the message of
    the ``StageFailed`` (default ``"<stage> failed"``). ``fixed``: settings this task always uses, over the section
    (``augment_neutral``'s ``kind: neutral``)."""

    def run_step(warehouse: str, settings: dict | str) -> dict:
        cfg = (load_section(settings, name or stage, config, **(fixed or {})) if isinstance(settings, str)
               else config.model_validate({**settings, **(fixed or {})}))
        logger = get_run_logger()
        try:
            wh = Warehouse.open(warehouse)
            done = _finished_run(wh, stage, cfg, skip_when_done) if skip_when_done else None
            if done is not None:
                logger.info(f"skipped, nothing new since {done}")
                return {**done.as_dict(), "skipped": True}
            tags = COMMIT_TAGS.set({"flow_run_id": str(flow_run.id)} if flow_run.id else {})
            try:
                result = step(wh, cfg)
            finally:
                COMMIT_TAGS.reset(tags)
        except CurateError as exc:
            message = failure(cfg, exc) if failure else f"{stage} failed"
            raise StageFailed(message, stage=stage, run_id=exc.ids.get("run_id")) from exc
        logger.info(str(result))
        if not isinstance(result, StageResult):
            return result
        create_markdown_artifact(markdown=result_markdown(result), key=f"{stage.replace('_', '-')}-result",
                                 description=f"{stage} run {result.run_id}")
        return {**result.as_dict(), "skipped": False}

    run_step.__name__ = run_step.__qualname__ = f"{(name or stage).replace('-', '_')}_task"
    run_step.__doc__ = step.__doc__
    return task(run_step, name=name or stage, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S,
                retry_condition_fn=transient_only)


def result_markdown(result: StageResult) -> str:
    """A stage result as the markdown table the Prefect UI shows among the task run's artifacts."""
    rows = [("stage", result.stage), ("run", result.run_id), ("snapshot", result.snapshot_id),
            ("seconds", f"{(result.finished_at - result.started_at).total_seconds():.1f}"), ("rows in", result.rows_in),
            ("rows written", result.rows_written), ("errors", result.error_count),
            *((f"outcome {k}", v) for k, v in result.outcomes.items()), *((f"dropped {k}", v) for k, v in result.dropped.items()),
            ("tables written", ", ".join(result.tables_written))]
    return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def _finished_run(wh: Warehouse, stage: str, cfg: BaseModel, reads: tuple[Table, ...]) -> StageResult | None:
    """The recorded result of a run of ``stage`` with ``cfg`` on the current input, if it finished clean.

    A run that counted errors or dropped work (a judge limit stopping it early) may have left
    something to do, so it is not a reason to skip."""
    run_id = completed(wh, stage, wh.input_snapshot(reads), cfg)
    if run_id is None:
        return None
    result = recorded_result(wh, run_id)
    return result if not result.error_count and not result.dropped else None


def details(result: dict[str, Any]) -> dict[str, Any]:
    """A stage result's own ``details`` with its run id and snapshot: what a flow hands on for a step
    whose facts are stage-specific (an export's files and rows)."""
    return {**result["details"], "run_id": result["run_id"], "snapshot_id": result["snapshot_id"],
            "skipped": result["skipped"]}
