"""Warehouse commands: ``init``, ``sql`` and ``stats``."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from curate.cli._app import AtOpt, STATS_SECTIONS, WarehouseOpt, app, console, fails_cleanly, print_table
from curate.errors import ConfigError, WarehouseError
from curate.query import connect, run_sql
from curate.warehouse import LAKE, Warehouse, relations, view_names, views_in

FORMATS = ("table", "csv", "json", "parquet")


@app.command()
@fails_cleanly
def init(
    warehouse: WarehouseOpt = None,
    catalog: Annotated[str, typer.Option(help="Catalog: sqlite:<file> (default), postgres:<dsn> or duckdb:<file>.")] = "sqlite:catalog.sqlite",
) -> None:
    """Create a warehouse (idempotent) and apply pending migrations."""
    try:
        wh = Warehouse.init(warehouse, catalog=catalog)
    except OSError as exc:  # the path is a file, or cannot be created
        raise WarehouseError(f"cannot create a warehouse: {exc}", path=warehouse) from exc
    console.print(f"warehouse ready at [bold]{wh.path}[/] (catalog {wh.catalog})")


@app.command()
@fails_cleanly
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the warehouse tables and named views.")],
    warehouse: WarehouseOpt = None,
    at: AtOpt = None,
    write: Annotated[bool, typer.Option("--write", help="Allow statements that change the warehouse.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="table (default), csv, json or parquet (needs --out).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write csv, json or parquet to this file instead of stdout.")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", hidden=True, help="Deprecated: --format.")] = None,
) -> None:
    """Run SQL against the warehouse. Read-only unless --write is given. A failed query exits 1 with DuckDB's message.

    csv and json on stdout are only the data, for pipes and scripts."""
    fmt = _format(fmt, output, out)
    wh = Warehouse.open(warehouse, read_only=not write)
    fetch = ((lambda relation: relation.write_parquet(str(out))) if fmt == "parquet"
             else (lambda relation: (relation.columns, relation.fetchall())))
    with connect(wh, read_only=not write, at=at, views=views_in(query)) as con:
        result = run_sql(con, query, fetch, read_only=not write, hint="; pass --write to change the warehouse")
    if fmt == "parquet" or result is None:
        return
    columns, rows = result
    if fmt == "table":
        print_table(columns, rows)
        return
    with (out.open("w", newline="", encoding="utf-8") if out else contextlib.nullcontext(sys.stdout)) as fh:
        if fmt == "csv":
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(rows)
        else:
            fh.write(json.dumps([dict(zip(columns, r)) for r in rows], default=str, ensure_ascii=False, indent=1) + "\n")


def _format(fmt: str | None, output: str | None, out: Path | None) -> str:
    """The output format from ``--format`` (or the deprecated ``--output``), checked against ``--out``."""
    if fmt and output and fmt != output:
        raise ConfigError(f"--format {fmt} and --output {output} disagree: give --format only (--output is deprecated)")
    fmt = fmt or output or "table"
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    if fmt == "table" and out is not None:
        raise ConfigError("--format table prints to the terminal: use --format csv, json or parquet with --out")
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet writes a file: give it with --out FILE")
    return fmt


@app.command()
@fails_cleanly
def stats(
    warehouse: WarehouseOpt = None,
    at: AtOpt = None,
    runs: Annotated[Optional[int], typer.Option("--runs", help="Print the last N stage runs (view run_summary) instead.",
                                                 min=1)] = None,
) -> None:
    """Every stage's summary views: ingest outcomes, languages, lengths, conflicts, judges, noise, releases."""
    wh = Warehouse.open(warehouse, read_only=True)
    if runs:
        with connect(wh, read_only=True, at=at, views=["run_summary"]) as con:
            relation = con.sql(f"SELECT stage, run_id, started_at, seconds, rows_in, rows_written, errors, dropped, llm_requests, "
                               f"tokens, cost_usd, read_snapshot, wrote_snapshot FROM run_summary LIMIT {int(runs)}")
            print_table(relation.columns, relation.fetchall(), title=f"last {runs} stage runs (all of them: curate sql \"select * from run_summary\")")
        return
    with connect(wh, read_only=True, at=at) as con:
        snapshot = con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()[0]
        console.print(f"[bold]{wh.path}[/] at snapshot {at if at is not None else snapshot}")
        present = relations(con)
        for view, title in STATS_SECTIONS:
            if view in present:  # an old snapshot may predate a stage's tables
                relation = con.sql(f"SELECT * FROM {view}")
                print_table(relation.columns, relation.fetchall(), title=title)
    console.print(f"[dim]views: {', '.join(view_names())} — query them with curate sql[/]")

