"""``curate run``: the whole pipeline from one config, as one Prefect flow (incremental: see ``curate.pipeline``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curate.cli._app import app, console, fails_cleanly


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
