"""Judge flow: one Prefect task around ``curate.judge.run``, plus the demo's small embedded-judge run.

The task gets the warehouse path and a config dict and returns the stage
result as a dict; verdicts stay in the warehouse (``judgments``), never in
Prefect. Without ``base_url`` the embedded llama.cpp server is started for the
task and stopped after it: a plumbing default, near-random as a judge. The
same config on the same pairs is not judged again.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from curate import judge
from curate.stage import StageResult
from curate.warehouse import Warehouse
from flows.tasks import stage_task
from schemas.vocab import JudgmentStatus


def _judge(wh: Warehouse, cfg: judge.JudgeConfig) -> StageResult:
    """Judge the configured pairs in both orders; a limit stopping the run early is reported, not raised."""
    logger = get_run_logger()
    if not cfg.base_url:
        logger.warning(judge.EMBEDDED_NOTICE)
    result = judge.run(wh, cfg)
    if result.outcomes.get(JudgmentStatus.SKIPPED):
        logger.warning(f"a limit stopped the run: {result.outcomes[JudgmentStatus.SKIPPED]} order(s) not judged; "
                       "run again to finish")
    return result


judge_task = stage_task(judge.STAGE, _judge, judge.JudgeConfig, skip_when_done=judge.READS,
                        failure=lambda cfg, exc: "judge run failed")


@flow(name="curate-judge")
def judge_flow(warehouse: str, config: dict) -> dict:
    """Judge pairs of an existing warehouse with the given judge config (the YAML ``judge`` section)."""
    return judge_task(warehouse, config)


def judge_sample(warehouse: str, *, pairs: int = 5, max_tokens: int = 64) -> dict:
    """For ``make demo``: judge the first ``pairs`` pairs of ``warehouse`` against the embedded server."""
    return judge_flow(warehouse, {"limit": pairs, "max_tokens": max_tokens})
