"""``curate serve``: the pipeline and the annotation pull as scheduled deployments on a Prefect server.

Schedules need a persistent API: the ephemeral server that ``curate run`` starts for one run cannot hold
them. Start one (``prefect server start``), point ``PREFECT_API_URL`` at it, and serve; the runs then show up
in the Prefect UI (http://127.0.0.1:4200 by default). Two deployments are served from this process: the
pipeline (``curate-run/pipeline``, its parameter the config file's path) and, when the pipeline lists
``annotate_pull``, the pull of finished human annotations (``curate-annotate-pull/annotate-pull``), which
has its own schedule because people annotate at their own pace.
"""

from __future__ import annotations

import os
from datetime import timedelta

from prefect import serve

from curate import pipeline
from curate.config import read_section
from curate.errors import ConfigError
from flows.annotate import annotate_pull_flow
from flows.pipeline import pipeline_flow


def deployments(config_path: str, *, cron: str | None, interval: float | None, pull_cron: str | None = None) -> list:
    """The deployments to serve: the pipeline on ``cron`` (or every ``interval`` seconds), and the pull."""
    cfg = pipeline.load(config_path)
    schedule = {"cron": cron} if cron else {"interval": timedelta(seconds=interval or 3600)}
    served = [pipeline_flow.to_deployment(name="pipeline", parameters={"config_path": config_path}, concurrency_limit=1, **schedule)]
    if "annotate_pull" in cfg.stages:
        pull = read_section(config_path, "annotate_pull")
        url = (pull.get("label_studio") or {}).get("url")
        served.append(annotate_pull_flow.to_deployment(
            name="annotate-pull", concurrency_limit=1, parameters={"warehouse": cfg.warehouse, "pull_config": {"label_studio": {"url": url}} if url else {}},
            **({"cron": pull_cron} if pull_cron else schedule)))
    return served


def serve_pipeline(config_path: str, *, cron: str | None = None, interval: float | None = None, pull_cron: str | None = None) -> None:
    """Register the deployments with the Prefect server at ``PREFECT_API_URL`` and serve them until Ctrl-C."""
    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError("curate serve needs a persistent Prefect server: run `prefect server start`, then "
                          "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (the ephemeral server cannot schedule)")
    serve(*deployments(config_path, cron=cron, interval=interval, pull_cron=pull_cron), pause_on_shutdown=False)
