"""``curate ingest``: preference rows in, every row accounted for."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, deferred, err, fails_cleanly, print_table, stats_section
from curate.config import load_section, parse_column_map
from curate.errors import NoValidRows
from curate.warehouse import Warehouse
from schemas import RAW_ROWS, Outcome

ingest_stage = deferred("curate.ingest")
sources = deferred("curate.ingest.sources")

stats_section("ingest_summary", "rows by source and outcome")
stats_section("pairs_by_source", "pairs by source")
stats_section("pairs_by_language", "pairs by language")
stats_section("reject_reasons", "reject reasons")
stats_section("length_stats", "lengths and chosen-is-longer rate")
stats_section("conflicts_summary", "conflicting labels")


@app.command()
@fails_cleanly
def ingest(
    source: Annotated[str, typer.Argument(help="File, directory, glob, or hf://org/name?config=C&split=S.")],
    warehouse: WarehouseOpt = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Force an adapter: hh, trl, ultrafeedback, helpsteer2, helpsteer2_preference, openai, label-studio, argilla.")] = None,
    map: Annotated[Optional[str], typer.Option("--map", help="Column mapping, e.g. prompt=question,chosen=answer_a,rejected=answer_b.")] = None,
    source_name: Annotated[Optional[str], typer.Option("--source", help="Dataset name for these rows [default: file name].")] = None,
    include_ties: Annotated[Optional[bool], typer.Option("--include-ties/--no-ties", help="Pair equally rated responses as ties.")] = None,
    detect_language: Annotated[Optional[bool], typer.Option("--detect-language/--no-detect-language", help="Detect missing languages.")] = None,
    config: ConfigOpt = None,
    show_rejects: Annotated[int, typer.Option(help="List at most this many rejected rows.")] = 50,
) -> None:
    """Ingest preference pairs; every row ends accepted, duplicate, conflict or rejected (with a reason)."""
    cfg = load_section(
        config, ingest_stage.STAGE, ingest_stage.IngestConfig,
        source=source, source_name=source_name, format=format, column_map=parse_column_map(map),
        include_ties=include_ties, detect_language=detect_language,
    )
    sources.resolve(cfg.source)  # a missing source fails before any warehouse is created
    wh = Warehouse.init(warehouse)
    columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("rows"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"ingesting {source}", total=None)
        try:
            result = ingest_stage.run(wh, cfg, progress=lambda n: bar.advance(task, n))
        except NoValidRows as exc:
            bar.stop()
            _print_ingest(wh, exc.result, show_rejects)
            raise
    _print_ingest(wh, result, show_rejects)


def _print_ingest(wh: Warehouse, result, show_rejects: int) -> None:
    out = result.outcomes
    rejected = out[Outcome.REJECTED]
    console.print(
        f"[bold]{result.rows_in}[/] rows = [green]{out[Outcome.ACCEPTED]} accepted[/] + {out[Outcome.DUPLICATE]} duplicate "
        f"+ [yellow]{out[Outcome.CONFLICT]} conflict[/] + [red]{rejected} rejected[/]; "
        f"{result.rows_written} new pairs; snapshot {result.snapshot_id}, run {result.run_id}"
    )
    with wh.connect(read_only=True, views=False) as con:
        files = con.execute(
            f"SELECT source_file, any_value(adapter), count(*), count(*) FILTER (outcome = '{Outcome.REJECTED}') "
            f"FROM {RAW_ROWS.name} WHERE run_id = ? GROUP BY source_file ORDER BY source_file", [result.run_id]
        ).fetchall()
        rejects = con.execute(
            f"SELECT source_file, source_row, reason, detail FROM {RAW_ROWS.name} "
            f"WHERE run_id = ? AND outcome = '{Outcome.REJECTED}' ORDER BY source_file, source_row LIMIT ?",
            [result.run_id, show_rejects],
        ).fetchall()
    if len(files) > 1:
        print_table(["file", "format", "rows", "rejected"], files)
    if rejects:
        print_table(["file", "row", "reason", "detail"], rejects, title=f"rejected rows (kept in {RAW_ROWS.name})")
        if rejected > len(rejects):
            console.print(f"... and {rejected - len(rejects)} more: curate sql \"select * from {RAW_ROWS.name} "
                          f"where run_id = '{result.run_id}' and outcome = '{Outcome.REJECTED}'\"")
