"""The ``curate`` command line: thin wrappers over the library, one ``--warehouse`` everywhere.

Exit codes: 0 ok; 1 unexpected error; 2 bad usage or config (including a
write statement given to the read-only ``curate sql``); 3 warehouse error;
4 source cannot be read; 5 no valid row in the input.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from curate import ingest as ingest_stage
from curate import sources
from curate.config import load_section, parse_column_map
from curate.errors import CurateError, NoValidRows, ReadOnlyViolation
from curate.warehouse import ENV_VAR, Warehouse, view_names

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Curate preference data for reward-model training.")
console = Console()
err = Console(stderr=True)

WarehouseOpt = Annotated[
    Optional[Path],
    typer.Option("--warehouse", "-w", envvar=ENV_VAR, help="Warehouse directory [default: warehouse/lake]."),
]
AtOpt = Annotated[Optional[int], typer.Option("--at", help="Read the warehouse as of this snapshot version.")]
READ_ONLY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _fails_cleanly(fn):
    """Print a CurateError as one readable line and exit with its code, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CurateError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


@app.command()
@_fails_cleanly
def init(
    warehouse: WarehouseOpt = None,
    catalog: Annotated[str, typer.Option(help="Catalog: sqlite:<file> (default), postgres:<dsn> or duckdb:<file>.")] = "sqlite:catalog.sqlite",
) -> None:
    """Create a warehouse (idempotent) and apply pending migrations."""
    wh = Warehouse.init(warehouse, catalog=catalog)
    console.print(f"warehouse ready at [bold]{wh.path}[/] (catalog {wh.catalog})")


@app.command()
@_fails_cleanly
def ingest(
    source: Annotated[str, typer.Argument(help="File, directory, glob, or hf://org/name?config=C&split=S.")],
    warehouse: WarehouseOpt = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Force an adapter: hh, trl, ultrafeedback, helpsteer2, helpsteer2_preference, openai.")] = None,
    map: Annotated[Optional[str], typer.Option("--map", help="Column mapping, e.g. prompt=question,chosen=answer_a,rejected=answer_b.")] = None,
    source_name: Annotated[Optional[str], typer.Option("--source", help="Dataset name for these rows [default: file name].")] = None,
    include_ties: Annotated[Optional[bool], typer.Option("--include-ties/--no-ties", help="Pair equally rated responses as ties.")] = None,
    detect_language: Annotated[Optional[bool], typer.Option("--detect-language/--no-detect-language", help="Detect missing languages.")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config with an `ingest:` section.")] = None,
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
    console.print(
        f"[bold]{result.rows_in}[/] rows = [green]{out['accepted']} accepted[/] + {out['duplicate']} duplicate "
        f"+ [yellow]{out['conflict']} conflict[/] + [red]{out['rejected']} rejected[/]; "
        f"{result.rows_written} new pairs; snapshot {result.snapshot_id}, run {result.run_id}"
    )
    with wh.connect(read_only=True, views=False) as con:
        files = con.execute(
            "SELECT source_file, any_value(adapter), count(*), count(*) FILTER (outcome = 'rejected') "
            "FROM raw_rows WHERE run_id = ? GROUP BY source_file ORDER BY source_file", [result.run_id]
        ).fetchall()
        rejects = con.execute(
            "SELECT source_file, source_row, reason, detail FROM raw_rows WHERE run_id = ? AND outcome = 'rejected' "
            "ORDER BY source_file, source_row LIMIT ?", [result.run_id, show_rejects]
        ).fetchall()
    if len(files) > 1:
        _print_table(["file", "format", "rows", "rejected"], files)
    if rejects:
        _print_table(["file", "row", "reason", "detail"], rejects, title="rejected rows (kept in raw_rows)")
        if out["rejected"] > len(rejects):
            console.print(f"... and {out['rejected'] - len(rejects)} more: curate sql \"select * from raw_rows where run_id = '{result.run_id}' and outcome = 'rejected'\"")


@app.command()
@_fails_cleanly
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the warehouse tables and named views.")],
    warehouse: WarehouseOpt = None,
    at: AtOpt = None,
    write: Annotated[bool, typer.Option("--write", help="Allow statements that change the warehouse.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table, csv or json.")] = "table",
) -> None:
    """Run SQL against the warehouse. Read-only unless --write is given."""
    wh = Warehouse.open(warehouse)
    with wh.connect(read_only=not write, at=at) as con:
        statements = con.extract_statements(query)
        if not write:
            for statement in statements:
                if statement.type not in READ_ONLY_STATEMENTS:
                    raise ReadOnlyViolation(
                        f"curate sql is read-only: refused a {statement.type.name} statement; pass --write to change the warehouse"
                    )
        try:
            for statement in statements[:-1]:
                con.execute(statement)
            relation = con.sql(statements[-1].query) if statements else None
            if relation is None:
                return
            columns, rows = relation.columns, relation.fetchall()
        except duckdb.Error as exc:
            raise CurateError(f"query failed: {exc}") from exc
    if output == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output == "json":
        import json

        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str, ensure_ascii=False, indent=1))
    else:
        _print_table(columns, rows)


@app.command()
@_fails_cleanly
def stats(warehouse: WarehouseOpt = None, at: AtOpt = None) -> None:
    """Counts by source, language and reject reason; lengths and chosen-is-longer rate; conflicts."""
    wh = Warehouse.open(warehouse)
    sections = [
        ("ingest_summary", "rows by source and outcome"),
        ("pairs_by_source", "pairs by source"),
        ("pairs_by_language", "pairs by language"),
        ("reject_reasons", "reject reasons"),
        ("length_stats", "lengths and chosen-is-longer rate"),
        ("conflicts_summary", "conflicting labels"),
    ]
    with wh.connect(read_only=True, at=at) as con:
        snapshot = con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0]
        console.print(f"[bold]{wh.path}[/] at snapshot {at if at is not None else snapshot}")
        for view, title in sections:
            relation = con.sql(f"SELECT * FROM {view}")
            _print_table(relation.columns, relation.fetchall(), title=title)
    console.print(f"[dim]views: {', '.join(view_names())} — query them with curate sql[/]")


def _print_table(columns, rows, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(str(column), overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    if not rows:
        table.add_row(*("—" for _ in columns))
    console.print(table)


if __name__ == "__main__":
    app()
