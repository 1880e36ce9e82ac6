"""Judge flow: one Prefect task around ``curate.judge.run``, plus the demo's small embedded-judge run.

The task gets the warehouse path and a config dict and returns the stage
result as a dict; verdicts stay in the warehouse (``judgments``), never in
Prefect. Without ``base_url`` the embedded llama.cpp server is started for the
task and stopped after it: a plumbing default, near-random as a judge.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from curate import judge
from curate.errors import CurateError, StageFailed
from curate.warehouse import Warehouse


@task(name=judge.STAGE, retries=0)
def judge_task(warehouse: str, config: dict) -> dict:
    """Judge the configured pairs in both orders; a limit stopping the run early is reported, not raised."""
    cfg = judge.JudgeConfig.model_validate(config)
    logger = get_run_logger()
    if not cfg.base_url:
        logger.warning(judge.EMBEDDED_NOTICE)
    try:
        result = judge.run(Warehouse.open(warehouse), cfg)
    except CurateError as exc:
        raise StageFailed("judge run failed", stage=judge.STAGE) from exc
    logger.info(str(result))
    if result.outcomes.get("skipped"):
        logger.warning(f"a limit stopped the run: {result.outcomes['skipped']} order(s) not judged; run again to finish")
    return result.as_dict()


@flow(name="curate-judge")
def judge_flow(warehouse: str, config: dict) -> dict:
    """Judge pairs of an existing warehouse with the given judge config (the YAML ``judge`` section)."""
    return judge_task(warehouse, config)


def judge_sample(warehouse: str, *, pairs: int = 5, max_tokens: int = 64) -> dict:
    """For ``make demo``: judge the first ``pairs`` pairs of ``warehouse`` against the embedded server."""
    return judge_flow(warehouse, {"limit": pairs, "max_tokens": max_tokens})
