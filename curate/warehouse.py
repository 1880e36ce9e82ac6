"""The DuckLake warehouse: where it lives, how to connect, migrations, snapshots.

A warehouse is a directory holding ``warehouse.yaml`` (the catalog address),
the catalog (a SQLite file by default) and ``data/`` with the Parquet files.
SQLite is the default catalog because, unlike a DuckDB-file catalog, several
processes can share it: ``curate sql`` reads while a flow writes.

Every connection attaches the lake as ``lake`` and makes it the default, so
SQL names tables plainly (``SELECT count(*) FROM pairs``). Named views from
``warehouse/views`` are created as temporary views in each session, so they
always match the code and work at any snapshot (``at=VERSION``).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import yaml

from curate.config import read_yaml
from curate.errors import CommitConflict, WarehouseError
from schemas import MIGRATIONS, Table, vocab
from warehouse import MIGRATIONS_DIR, VIEWS_DIR

DEFAULT_PATH = Path("warehouse/lake")
CONFIG_FILE = "warehouse.yaml"
ENV_VAR = "CURATE_WAREHOUSE"
LAKE = "lake"

# (PyPI package, extension name) for the signed binaries that make DuckLake work offline.
_EXTENSIONS = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite": "duckdb_extension_sqlite",
    "postgres": "duckdb_extension_postgres",
}

T = TypeVar("T")

_CHANGED = ["tables_inserted_into", "tables_deleted_from", "inlined_insert", "inlined_delete"]
_INPUT_SNAPSHOT_SQL = f"""
SELECT max(s.snapshot_id) FROM {LAKE}.snapshots() s,
    (SELECT table_id::VARCHAR AS id, 'main.' || table_name AS qualified FROM __ducklake_metadata_{LAKE}.ducklake_table
     WHERE end_snapshot IS NULL AND table_name IN (SELECT unnest(?::VARCHAR[]))) t
WHERE list_contains(flatten([coalesce(s.changes[k], []) FOR k IN {_CHANGED}]), t.id)
   OR list_contains(coalesce(s.changes['tables_created'], []), t.qualified)
"""


@dataclass(frozen=True)
class Warehouse:
    """A warehouse directory and its catalog address."""

    path: Path
    catalog: str

    @property
    def data_path(self) -> Path:
        return self.path / "data"

    @property
    def attach_target(self) -> str:
        kind, _, where = self.catalog.partition(":")
        if kind in ("sqlite", "duckdb") and not Path(where).is_absolute():
            where = str(self.path / where)
        return f"ducklake:{where}" if kind == "duckdb" else f"ducklake:{kind}:{where}"

    @classmethod
    def resolve(cls, path: str | Path | None = None) -> Path:
        """The warehouse directory: the argument, else ``$CURATE_WAREHOUSE``, else ``warehouse/lake``."""
        return Path(path or os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser().resolve()

    @classmethod
    def open(cls, path: str | Path | None = None, *, upgrade: bool = True) -> Warehouse:
        """Open an initialized warehouse and apply migrations it lacks (a warehouse made by an older curate);
        fails with a hint when ``curate init`` was not run."""
        root = cls.resolve(path)
        config_file = root / CONFIG_FILE
        if not config_file.exists():
            raise WarehouseError(
                f"no warehouse at {root}: run `curate init --warehouse {root}` first", path=root
            )
        config = read_yaml(config_file, "warehouse config")
        wh = cls(path=root, catalog=config.get("catalog", "sqlite:catalog.sqlite"))
        if upgrade:
            migrate(wh)
        return wh

    @classmethod
    def init(cls, path: str | Path | None = None, catalog: str = "sqlite:catalog.sqlite") -> Warehouse:
        """Create the warehouse (idempotent) and apply pending migrations."""
        root = cls.resolve(path)
        kind = catalog.partition(":")[0]
        if kind not in ("sqlite", "postgres", "duckdb"):
            raise WarehouseError(f"unsupported catalog {catalog!r}: use sqlite:<file>, postgres:<dsn> or duckdb:<file>")
        root.mkdir(parents=True, exist_ok=True)
        config_file = root / CONFIG_FILE
        if config_file.exists():
            wh = cls.open(root, upgrade=False)
        else:
            wh = cls(path=root, catalog=catalog)
            config_file.write_text(yaml.safe_dump({"catalog": catalog}))
        wh.data_path.mkdir(exist_ok=True)
        migrate(wh)
        return wh

    def connect(self, *, read_only: bool = False, at: int | None = None, views: bool = True) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the lake attached as the default catalog and, unless told not to, the views."""
        con = duckdb.connect(config={"autoinstall_known_extensions": False})
        kind = self.catalog.partition(":")[0]
        _load_extension(con, "ducklake")
        if kind in ("sqlite", "postgres"):
            _load_extension(con, kind)
        # Data inlining (small inserts stored in the catalog) is off: DuckLake 1.5.5 writes inlined
        # strings into the catalog as SQL literals and fails on text holding NUL characters.
        options = [f"DATA_PATH '{self.data_path}/'", "DATA_INLINING_ROW_LIMIT 0"]
        if read_only or at is not None:
            options.append("READ_ONLY")
        if at is not None:
            options.append(f"SNAPSHOT_VERSION {int(at)}")
        try:
            con.execute(f"ATTACH '{self.attach_target}' AS {LAKE} ({', '.join(options)})")
        except duckdb.Error as exc:
            con.close()
            raise WarehouseError(f"cannot attach the warehouse catalog: {exc}", path=self.path) from exc
        con.execute(f"USE {LAKE}")
        con.execute("SET ducklake_max_retry_count = 50")
        if views:
            _create_views(con, partial=at is not None)
        return con

    @contextmanager
    def transaction(self, run_id: str, message: str) -> Iterator[Transaction]:
        """One snapshot: everything written inside lands atomically, tagged with the run id."""
        tx = Transaction(self, self.connect(views=False), run_id)
        try:
            tx.execute("BEGIN")
            tx.execute(
                f"CALL {LAKE}.set_commit_message('curate', ?, extra_info => ?)",
                [message, json.dumps({"run_id": run_id})],
            )
            yield tx
            tx.register_staged()
            tx.execute("COMMIT")
            tx.snapshot_id = tx.execute(f"SELECT id FROM {LAKE}.last_committed_snapshot()").fetchone()[0]
        except BaseException:
            _rollback(tx.con)
            tx.discard_staged()
            raise
        finally:
            tx.close()

    def input_snapshot(self, tables: tuple[Table, ...]) -> int | None:
        """The latest snapshot that created, appended to or deleted from any of ``tables``: the input a
        stage that reads them sees. Its own writes to other tables do not move it."""
        if not tables:
            return None
        with self.connect(read_only=True, views=False) as con:
            return con.execute(_INPUT_SNAPSHOT_SQL, [[t.name for t in tables]]).fetchone()[0]

    def snapshot_of(self, run_id: str) -> int | None:
        """The snapshot id committed by a run, found through its commit message."""
        with self.connect(read_only=True, views=False) as con:
            return run_snapshot(con, run_id)


class Transaction:
    """An open write transaction: SQL, plus bulk appends whose memory stays bounded.

    DuckLake keeps rows inserted in an open transaction in memory until commit, so
    a million-pair ingest would need gigabytes. ``append`` instead writes each batch
    as a Parquet file under the table's data directory (DuckDB does the casts to the
    declared column types), and the commit registers them all with
    ``ducklake_add_data_files``: still one snapshot, memory bounded by one batch,
    and each row written once. A failed transaction deletes its staged files.
    Batches are written through a separate autocommit connection: an Arrow table
    registered inside the open transaction would stay referenced until commit.
    """

    def __init__(self, wh: Warehouse, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        self.wh, self.con, self.run_id = wh, con, run_id
        self._staged: list[tuple[str, Path]] = []
        self._token = uuid.uuid4().hex[:8]  # two transactions of one run never share a staged file name
        self._writer = duckdb.connect()
        self.tables_written: tuple[str, ...] = ()
        self.snapshot_id: int | None = None  # set once the transaction has committed

    def execute(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params or [])

    def append(self, table: Table, rows: list[dict]) -> None:
        """Stage rows (dicts keyed by column name) for ``table``."""
        if not rows:
            return
        folder = self.wh.data_path / "main" / table.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"curate-{self.run_id}-{self._token}-{len(self._staged):05d}.parquet"
        self._staged.append((table.name, path))
        self.wrote(table)
        columns = ", ".join(f"CAST({c.name} AS {c.type}) AS {c.name}" for c in table.columns)
        batch = pa.Table.from_pylist(rows, schema=table.arrow_schema)
        self._writer.register("_staged_batch", batch)
        try:
            self._writer.execute(f"COPY (SELECT {columns} FROM _staged_batch) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        finally:
            self._writer.unregister("_staged_batch")

    def wrote(self, table: Table) -> None:
        """Note a table written by SQL (``INSERT ... SELECT``) rather than ``append``."""
        if table.name not in self.tables_written:
            self.tables_written += (table.name,)

    def register_staged(self) -> None:
        for table, path in self._staged:
            self.con.execute(f"CALL ducklake_add_data_files('{LAKE}', ?, ?)", [table, str(path)])

    def close(self) -> None:
        self._writer.close()
        self.con.close()

    def discard_staged(self) -> None:
        for _, path in self._staged:
            path.unlink(missing_ok=True)
        self._staged.clear()


def migrate(wh: Warehouse) -> list[str]:
    """Apply the numbered migrations this warehouse has not seen yet; returns their names."""
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    applied = _applied_migrations(wh)
    done = []
    for file in files:
        version = int(file.name[:3])
        if version in applied:
            continue

        def apply(file: Path = file, version: int = version) -> None:
            with wh.transaction(run_id=f"migration-{version:03d}", message=f"migrate {file.name}") as con:
                con.execute(file.read_text())
                con.execute("INSERT INTO migrations VALUES (?, ?, now())", [version, file.name])

        retry_on_conflict(apply)
        done.append(file.name)
    return done


def _applied_migrations(wh: Warehouse) -> set[int]:
    """Versions already applied, read through a read-only attach so a reader never waits on a writer."""
    try:
        con = wh.connect(read_only=True, views=False)
    except WarehouseError:  # a catalog not created yet cannot be attached read-only
        return set()
    with con:
        if MIGRATIONS.name not in relations(con):
            return set()
        return {r[0] for r in con.execute(f"SELECT version FROM {MIGRATIONS.name}").fetchall()}


def retry_on_conflict(fn: Callable[[], T], attempts: int = 8, base_delay: float = 0.05) -> T:
    """Run ``fn`` again, with jittered exponential backoff, when a concurrent writer won the commit."""
    for attempt in range(attempts):
        try:
            return fn()
        except duckdb.Error as exc:
            if not _is_conflict(exc) or attempt == attempts - 1:
                if _is_conflict(exc):
                    raise CommitConflict(f"commit still conflicting after {attempts} attempts: {exc}") from exc
                raise
            time.sleep(base_delay * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def run_snapshot(con: duckdb.DuckDBPyConnection, run_id: str) -> int | None:
    """The snapshot a run committed, found through the run id in its commit message."""
    return con.execute(
        f"SELECT max(snapshot_id) FROM {LAKE}.snapshots() WHERE json_extract_string(commit_extra_info, '$.run_id') = ?",
        [run_id],
    ).fetchone()[0]


def relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the lake's tables and the session's views: what a query on ``con`` can read."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary", [LAKE]
    ).fetchall()
    return {r[0] for r in rows}


_VOCAB_REF = re.compile(r"\$\{(\w+)\.(\w+)\}")


def render_view(sql: str) -> str:
    """A view's SQL with each ``${Vocabulary.MEMBER}`` replaced by its quoted value from ``schemas.vocab``,
    so view files never retype a status, decision or method name."""

    def literal(match: re.Match) -> str:
        vocabulary = getattr(vocab, match.group(1), None)
        try:
            value = vocabulary[match.group(2)].value
        except (TypeError, KeyError):
            raise WarehouseError(f"unknown vocabulary reference {match.group(0)} in a view") from None
        return "'" + value.replace("'", "''") + "'"

    return _VOCAB_REF.sub(literal, sql)


def view_names() -> list[str]:
    return sorted(p.stem for p in VIEWS_DIR.glob("*.sql"))


def _create_views(con: duckdb.DuckDBPyConnection, partial: bool = False) -> None:
    """Create every named view; a view that reads another waits until that one exists.

    ``partial``: an old snapshot may predate the tables some views read; those views are left out."""
    pending = {f.stem: render_view(f.read_text().strip().rstrip(";")) for f in sorted(VIEWS_DIR.glob("*.sql"))}
    while pending:
        created, errors = 0, {}
        for name, sql in list(pending.items()):
            try:
                con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
                del pending[name]
                created += 1
            except (duckdb.CatalogException, duckdb.BinderException) as exc:  # a table or column an old snapshot lacks
                errors[name] = str(exc).splitlines()[0]
        if pending and not created:
            if partial:
                return
            raise WarehouseError(f"views cannot be created: {errors}")


def _is_conflict(exc: duckdb.Error) -> bool:
    """A concurrent writer won the commit (or holds the SQLite catalog): replaying can succeed."""
    text = str(exc).lower()
    return any(marker in text for marker in ("conflict", "database is locked", "unique constraint", "primary key"))


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension: already installed, else from its PyPI binary, else the normal ``INSTALL``."""
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    binary = _packaged_binary(name)
    try:
        con.execute(f"INSTALL '{binary}'" if binary else f"INSTALL {name}")
        con.execute(f"LOAD {name}")
    except duckdb.Error as exc:
        hint = f"pip install {_EXTENSIONS[name].replace('_', '-')}=={duckdb.__version__}"
        raise WarehouseError(f"cannot load the DuckDB extension {name!r} ({exc}); try `{hint}`") from exc


def _packaged_binary(name: str) -> str | None:
    try:
        package = importlib.import_module(_EXTENSIONS[name])
    except ImportError:
        return None
    root = Path(package.__file__).parent
    found = sorted(root.glob(f"extensions/v{duckdb.__version__}/*.duckdb_extension"))
    return str(found[0]) if found else None
