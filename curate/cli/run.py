"""``curate run`` and ``curate serve``: the whole pipeline from one config, as one Prefect flow (incremental: see
``curate.pipeline``), run once or served on a schedule. The flows live in ``flows/`` (only they import Prefect)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from curate.cli._app import app, console, fails_cleanly
from curate.errors import ConfigError


@app.command("run")
@fails_cleanly
def run(config: Annotated[Path, typer.Option("--config", "-c", help="Pipeline YAML (see examples/pipeline.yaml).")]) -> None:
    """Run every stage the pipeline lists, in order; a stage with nothing new is skipped, and a run with
    nothing new at all says so."""
    from curate import pipeline
    from flows.pipeline import pipeline_flow

    pipeline.load(config)  # a bad config fails here, before Prefect starts
    result = pipeline_flow(str(config.resolve()))
    console.print(result["summary"], highlight=False)


@app.command("serve")
@fails_cleanly
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="Pipeline YAML (see examples/pipeline.yaml).")],
    cron: Annotated[Optional[str], typer.Option("--cron", help="When the pipeline runs, e.g. '0 * * * *' (hourly).")] = None,
    interval: Annotated[Optional[float], typer.Option("--interval", min=1, help="Or: run it every N seconds.")] = None,
    pull_cron: Annotated[Optional[str], typer.Option("--pull-cron", help="When finished annotations are pulled [default: as --cron].")] = None,
) -> None:
    """Serve the pipeline (and the annotation pull) as scheduled deployments on the Prefect server at
    PREFECT_API_URL, until Ctrl-C; the runs show in the Prefect UI."""
    from curate import pipeline
    from flows.serve import serve_pipeline

    pipeline.load(config)
    if not cron and not interval:
        raise ConfigError("give --cron or --interval")
    console.print(f"serving {config} on {cron or f'every {interval:g}s'}; runs show in the Prefect UI (Ctrl-C stops)")
    serve_pipeline(str(config.resolve()), cron=cron, interval=interval, pull_cron=pull_cron)
