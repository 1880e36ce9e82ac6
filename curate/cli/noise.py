"""``curate noise``: embed what is missing, then score every pair's label with each noise method."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, deferred, err, fails_cleanly, print_table, stats_section
from curate.config import load_section
from curate.warehouse import Warehouse
from schemas.vocab import NoiseMethod

embed_stage = deferred("curate.embed")
noise_stage = deferred("curate.noise")

stats_section("noise_summary", "noise scores: likely wrong, ambiguous, strong (ensemble) and fused quantiles")
stats_section("noise_reliabilities", "estimated reliabilities per noise run (the fused score's EM; label = 1 - noise rate)")


@app.command()
@fails_cleanly
def noise(
    warehouse: WarehouseOpt = None,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help=f"Method to run (repeatable): {', '.join(NoiseMethod)} [default: all].")] = None,
    config: ConfigOpt = None,
) -> None:
    """Score how likely each pair's label is wrong (reward-model ensemble, peer review, confident learning, judge, fused).

    Texts without embeddings are embedded first (the ``embed`` section of --config picks the model).
    Each run appends its scores (noise_scores_latest holds each method's latest); decisions are left to releases."""
    embed_cfg = load_section(config, embed_stage.STAGE, embed_stage.EmbedConfig)
    cfg = load_section(config, noise_stage.STAGE, noise_stage.NoiseConfig, methods=method)
    if "embedding" not in cfg.model_fields_set:
        cfg = cfg.model_copy(update={"embedding": embed_cfg})
    wh = Warehouse.open(warehouse)
    columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"embedding with {embed_stage.model_id(cfg.embedding)}", total=None)
        embedded = embed_stage.run(wh, cfg.embedding, progress=lambda n, total: bar.update(task, advance=n, total=total))
        bar.update(task, total=1, completed=1)
        step = bar.add_task("scoring", total=None)
        result = noise_stage.run(wh, cfg, progress=lambda what: bar.update(step, description=what))
    console.print(
        f"embeddings: {embedded.outcomes['embedded']} embedded, {embedded.outcomes['cached']} cached; "
        f"noise: [bold]{result.rows_in}[/] pairs scored by {', '.join(result.details['methods'])}; "
        f"snapshot {result.snapshot_id}, run {result.run_id}"
    )
    with wh.connect(read_only=True) as con:
        relation = con.sql("SELECT * FROM noise_summary")
        print_table(relation.columns, relation.fetchall(), title="noise summary (see noise_pair_scores for every pair)")
