"""SQL over a warehouse, shared by ``curate sql`` and notebooks: the read-only check, ``--at``
resolution, and the handle ``curate.open`` returns.

``import curate`` does not import this module (it imports DuckDB); ``curate.open`` does, on first call.
Polars is imported only by ``Reader.sql``, so the CLI never loads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb

from curate.errors import ConfigError, CurateError, ReadOnlyViolation, WarehouseError
from curate.warehouse import LAKE, Warehouse, relations, view_names, views_in

if TYPE_CHECKING:
    import polars

T = TypeVar("T")

READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


def connect(wh: Warehouse, *, read_only: bool, at: int | None, views: bool | set[str] = True) -> duckdb.DuckDBPyConnection:
    """``wh.connect``; an ``at`` naming no snapshot is a usage error (exit 2) that says which ones exist."""
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


def run_sql(con: duckdb.DuckDBPyConnection, query: str, fetch: Callable[[duckdb.DuckDBPyRelation], T], *,
            read_only: bool = True, who: str = "curate sql", hint: str = "") -> T | None:
    """Run ``query`` (one or more statements) on ``con`` and ``fetch`` the last one's result; None when
    it has none. Read-only refuses any statement but SELECT and EXPLAIN before running anything
    (``ReadOnlyViolation``, exit 2, naming ``who`` and ending with ``hint``); a DuckDB error, in
    parsing, running or fetching, is a ``CurateError`` (exit 1) carrying DuckDB's message."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise CurateError(f"query failed: {exc}") from exc
    if read_only:
        for statement in statements:
            if statement.type not in READ_ONLY_STATEMENTS:
                raise ReadOnlyViolation(f"{who} is read-only: refused a {statement.type.name} statement{hint}")
    try:
        for statement in statements[:-1]:
            con.execute(statement)
        relation = con.sql(statements[-1].query) if statements else None
        return None if relation is None else fetch(relation)
    except duckdb.Error as exc:
        raise CurateError(f"query failed: {exc}") from exc


class Reader:
    """A read-only handle on a warehouse for notebooks and scripts: ``sql`` returns a Polars DataFrame,
    with every named view available.

    It holds nothing open: each call takes a session on this process's engine for the warehouse and
    closes it, so there is nothing to close, and a flow committing meanwhile is seen by the next call."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    @property
    def path(self) -> Path:
        return self.warehouse.path

    def sql(self, query: str, at: int | None = None) -> polars.DataFrame:
        """The result of ``query`` (its last statement's, for several) as a DataFrame; ``at``: read as of that
        snapshot. A statement that would change the warehouse raises ``ReadOnlyViolation``."""
        import polars  # here, not at import: the CLI must not pay for it

        with connect(self.warehouse, read_only=True, at=at, views=views_in(query)) as con:
            frame = run_sql(con, query, lambda relation: relation.pl(), who="curate.open(...).sql",
                            hint="; change the warehouse with the pipeline's stages or `curate sql --write`")
        return polars.DataFrame() if frame is None else frame

    def tables(self, at: int | None = None) -> list[str]:
        """The lake's table names (as of snapshot ``at``)."""
        with connect(self.warehouse, read_only=True, at=at, views=False) as con:
            return sorted(relations(con) - set(view_names()))

    def views(self) -> list[str]:
        """The named views (``warehouse/views/*.sql``) any ``sql`` call can read."""
        return view_names()

    def __repr__(self) -> str:
        return f"curate.open({str(self.path)!r})"


def open_reader(path: str | Path | None = None) -> Reader:
    """A read-only ``Reader`` on the warehouse at ``path`` (else ``$CURATE_WAREHOUSE``, else ``warehouse/lake``)."""
    return Reader(Warehouse.open(path, read_only=True))
