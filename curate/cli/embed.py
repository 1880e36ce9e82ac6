"""``curate embed``: embed every pair's prompt and responses once per model, with a progress bar."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, deferred, err, fails_cleanly, stats_section
from curate.config import load_section
from curate.warehouse import Warehouse

embed_stage = deferred("curate.embed")

stats_section("embeddings_by_model", "embeddings by model")


@app.command()
@fails_cleanly
def embed(
    warehouse: WarehouseOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help=f"Model name or folder [default: the packaged embedder].")] = None,
    backend: Annotated[Optional[str], typer.Option("--backend", "-b", help="auto (default: torch-bf16 on a CPU with bf16 instructions, else onnx), torch-bf16, onnx (fused fp32), torch (fp32 reference), onnx-int8 and torch-int8 (faster, cosines below 0.99).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Texts per forward pass.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Embed the prompt, chosen and rejected text of every pair; texts already embedded for the model are skipped."""
    cfg = load_section(config, embed_stage.STAGE, embed_stage.EmbedConfig, model=model, backend=backend, batch_size=batch_size)
    wh = Warehouse.open(warehouse)
    ident = embed_stage.model_id(cfg)
    columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("texts"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"embedding with {ident}", total=None)
        result = embed_stage.run(wh, cfg, progress=lambda n, total: bar.update(task, advance=n, total=total))
    seconds = (result.finished_at - result.started_at).total_seconds()
    embedded = result.outcomes["embedded"]
    rate = f" ({embedded / seconds:.0f} texts/s)" if embedded and seconds > 0 else ""
    console.print(
        f"[bold]{result.rows_in}[/] distinct texts: [green]{embedded} embedded[/]{rate}, {result.outcomes['cached']} already cached; "
        f"model {ident}; snapshot {result.snapshot_id}, run {result.run_id}"
    )
