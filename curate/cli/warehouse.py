"""Warehouse commands: ``init``, ``sql`` and ``stats``."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated

import duckdb
import typer

from curate.cli._app import AtOpt, STATS_SECTIONS, WarehouseOpt, app, console, fails_cleanly, print_table
from curate.errors import ConfigError, CurateError, ReadOnlyViolation, WarehouseError
from curate.warehouse import LAKE, Warehouse, relations, view_names, views_in

READ_ONLY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
OUTPUTS = ("table", "csv", "json")


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
    output: Annotated[str, typer.Option("--output", "-o", help="table, csv or json.")] = "table",
) -> None:
    """Run SQL against the warehouse. Read-only unless --write is given. A failed query exits 1 with DuckDB's message."""
    if output not in OUTPUTS:
        raise ConfigError(f"unknown output {output!r}: use {', '.join(OUTPUTS)}")
    wh = Warehouse.open(warehouse, read_only=not write)
    with _connect(wh, read_only=not write, at=at, views=views_in(query)) as con:
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise CurateError(f"query failed: {exc}") from exc
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
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output == "json":
        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str, ensure_ascii=False, indent=1))
    else:
        print_table(columns, rows)


@app.command()
@fails_cleanly
def stats(warehouse: WarehouseOpt = None, at: AtOpt = None) -> None:
    """Every stage's summary views: ingest outcomes, languages, lengths, conflicts, judges, noise, releases."""
    wh = Warehouse.open(warehouse, read_only=True)
    with _connect(wh, read_only=True, at=at) as con:
        snapshot = con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()[0]
        console.print(f"[bold]{wh.path}[/] at snapshot {at if at is not None else snapshot}")
        present = relations(con)
        for view, title in STATS_SECTIONS:
            if view in present:  # an old snapshot may predate a stage's tables
                relation = con.sql(f"SELECT * FROM {view}")
                print_table(relation.columns, relation.fetchall(), title=title)
    console.print(f"[dim]views: {', '.join(view_names())} — query them with curate sql[/]")


def _connect(wh: Warehouse, *, read_only: bool, at: int | None, views: bool | set[str] = True) -> duckdb.DuckDBPyConnection:
    """``wh.connect``; an ``--at`` naming no snapshot is a usage error (exit 2) that says which ones exist."""
    try:
        return wh.connect(read_only=read_only, at=at, views=views)
    except WarehouseError:
        if at is None:
            raise
        with wh.connect(read_only=True, views=False) as con:
            first, last = con.execute(f"SELECT min(snapshot_id), max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()
        if first <= at <= last:
            raise
        raise ConfigError(f"no snapshot {at} in this warehouse: its snapshots are {first}..{last}", path=wh.path) from None
