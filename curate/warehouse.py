"""The DuckLake warehouse: where it lives, how to connect, migrations, snapshots.

A warehouse is a directory holding ``warehouse.yaml`` (the catalog address),
the catalog (a SQLite file by default) and ``data/`` with the Parquet files.
SQLite is the default catalog because, unlike a DuckDB-file catalog, several
processes can share it: ``curate sql`` reads while a flow writes.

Every connection sees the lake as ``lake``, the default catalog, so SQL names
tables plainly (``SELECT count(*) FROM pairs``). Named views from
``warehouse/views`` are created from the code's SQL, never stored in the
catalog, so they always match the code and work at any snapshot (``at=VERSION``).

Opening a DuckDB database with the DuckLake and SQLite extensions costs about
0.3 s (their signatures are verified on load), which used to be paid on every
connection. So a process keeps one :class:`_Engine` per warehouse and mode
(read-write, read-only, a pinned snapshot): a DuckDB database with the
extensions loaded once, the lake attached once and the views created once.
``Warehouse.connect`` hands out cursors on it, which are cheap and
independent sessions (each its own transaction). Migrations are checked once
per process for each warehouse and migration set.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import duckdb
import yaml

from curate.config import read_yaml
from curate.errors import CommitConflict, WarehouseError
from schemas import MIGRATIONS, Table, vocab
from warehouse import MIGRATIONS_DIR, VIEWS_DIR

DEFAULT_PATH = Path("warehouse/lake")
CONFIG_FILE = "warehouse.yaml"
COMMIT_TAGS: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("curate_commit_tags", default={})
"""Extra tags every snapshot committed in this context carries beside its run id: the orchestrator that runs a
stage sets them (``flows/tasks.py`` puts the Prefect flow-run id here), so a snapshot names the flow run that made it."""

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
     WHERE end_snapshot IS NULL AND table_name IN ({{names}})) t
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
    def open(cls, path: str | Path | None = None, *, upgrade: bool = True, read_only: bool = False) -> Warehouse:
        """Open an initialized warehouse and apply migrations it lacks (a warehouse made by an older curate);
        fails with a hint when ``curate init`` was not run.

        ``read_only``: this process only reads, so the migration check goes through a read-only
        attach (never waiting on a writer); a writer checks through the read-write engine it needs anyway."""
        root = cls.resolve(path)
        config_file = root / CONFIG_FILE
        if not config_file.exists():
            raise WarehouseError(
                f"no warehouse at {root}: run `curate init --warehouse {root}` first", path=root
            )
        config = read_yaml(config_file, "warehouse config")
        wh = cls(path=root, catalog=config.get("catalog", "sqlite:catalog.sqlite"))
        if upgrade:
            migrate(wh, read_only=read_only)
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

    def connect(self, *, read_only: bool = False, at: int | None = None,
                views: bool | Iterable[str] = True) -> duckdb.DuckDBPyConnection:
        """A session on the lake (the default catalog) that sees the named views: all of them, none
        (``views=False``), or the ones some SQL names (``views=views_in(sql)``), with those they read.

        Sessions are cursors on this process's engine for the warehouse and mode: cheap to open,
        each with its own transaction; closing one leaves the engine for the next."""
        wanted = set(_view_sql()) if views is True else _with_dependencies(views or ())
        return _engine(self, read_only=read_only or at is not None, at=at).session(wanted)

    @contextmanager
    def transaction(self, run_id: str, message: str) -> Iterator[Transaction]:
        """One snapshot: everything written inside lands atomically, tagged with the run id."""
        tx = Transaction(self, self.connect(views=False), run_id)
        try:
            tx.execute("BEGIN")
            tx.execute(
                f"CALL {LAKE}.set_commit_message('curate', ?, extra_info => ?)",
                [message, json.dumps({"run_id": run_id, **COMMIT_TAGS.get()})],
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
        # The names are inlined: a parameter here makes DuckDB scan the metadata catalog (~1 s cold).
        if not all(t.name.isidentifier() for t in tables):
            raise ValueError(f"table names must be identifiers: {[t.name for t in tables]}")
        names = ", ".join(f"'{t.name}'" for t in tables)
        with self.connect(read_only=True, views=False) as con:
            return con.execute(_INPUT_SNAPSHOT_SQL.format(names=names)).fetchone()[0]

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
        import pyarrow as pa  # here, not at import: `curate sql` never writes

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


_ENGINE_LIMIT = 16  # engines kept per process; the least recently used is let go beyond it


class _Engine:
    """One DuckDB database with the extensions loaded and the lake attached in one mode."""

    def __init__(self, wh: Warehouse, *, read_only: bool, at: int | None) -> None:
        # No Python replacement scans: a view over a table an older warehouse lacks must fail as a missing table,
        # not find a Python global of that name (``annotations``, from ``from __future__ import annotations``).
        db = duckdb.connect(config={"autoinstall_known_extensions": False, "python_enable_replacements": False})
        kind = wh.catalog.partition(":")[0]
        _load_extension(db, "ducklake")
        if kind in ("sqlite", "postgres"):
            _load_extension(db, kind)
        # Data inlining (small inserts stored in the catalog) is off: DuckLake 1.5.5 writes inlined
        # strings into the catalog as SQL literals and fails on text holding NUL characters.
        options = [f"DATA_PATH '{wh.data_path}/'", "DATA_INLINING_ROW_LIMIT 0"]
        if read_only:
            options.append("READ_ONLY")
        if at is not None:
            options.append(f"SNAPSHOT_VERSION {int(at)}")
        try:
            db.execute(f"ATTACH '{wh.attach_target}' AS {LAKE} ({', '.join(options)})")
        except duckdb.Error as exc:
            db.close()
            raise WarehouseError(f"cannot attach the warehouse catalog: {exc}", path=wh.path) from exc
        db.execute("SET GLOBAL ducklake_max_retry_count = 50")
        self.db, self.partial_views = db, at is not None
        self._views: set[str] = set()  # created on this engine so far
        self._lock = threading.Lock()

    def session(self, views: set[str]) -> duckdb.DuckDBPyConnection:
        con = self.db.cursor()
        # Views live in the engine's own in-memory catalog, found through the search path.
        con.execute(f"USE {LAKE}; SET search_path = '{LAKE}.main,{_VIEWS}.main'")
        if views - self._views:
            with self._lock:
                self._views |= _create_views(con, views - self._views, partial=self.partial_views)
        return con

    def forget_views(self) -> None:
        """Re-create the views on next use: a migration changed the tables they read."""
        self._views = set()


_VIEWS = "memory"  # the engine's in-memory catalog, where the named views are created
_engines: dict[tuple, _Engine] = {}
_engines_lock = threading.Lock()
_migrated: set[tuple] = set()


def _catalog_file(wh: Warehouse) -> Path | None:
    """The catalog's file, for a SQLite or DuckDB catalog."""
    kind, _, _ = wh.catalog.partition(":")
    return Path(wh.attach_target.rpartition(":")[2]) if kind in ("sqlite", "duckdb") else None


def _catalog_identity(wh: Warehouse) -> tuple:
    """What tells this warehouse's catalog apart from one made later at the same place: a catalog
    file's inode, so a warehouse deleted and created again gets a new engine."""
    file = _catalog_file(wh)
    if file is None:
        return (wh.attach_target, str(wh.data_path))
    try:
        stat = file.stat()
        return (wh.attach_target, str(wh.data_path), stat.st_dev, stat.st_ino)
    except OSError:
        return (wh.attach_target, str(wh.data_path), None, None)


def _engine(wh: Warehouse, *, read_only: bool, at: int | None) -> _Engine:
    """This process's engine for the warehouse and mode, opened on first use.

    A read-only session of a process that already writes to the warehouse reads through its
    read-write engine: the same data, without loading the extensions a second time."""
    if wh.catalog.startswith("duckdb:"):
        # A DuckDB catalog file can be attached by one database of a process at a time, so
        # each session gets its own engine, closed with it (the cost the cache saves elsewhere).
        return _Engine(wh, read_only=read_only, at=at)
    identity = _catalog_identity(wh)
    with _engines_lock:
        if read_only and at is None and (*identity, False, None) in _engines:
            read_only = False
        key = (*identity, read_only, at)
        engine = _engines.pop(key, None)
        if engine is None:
            engine = _Engine(wh, read_only=read_only, at=at)
            key = (*_catalog_identity(wh), read_only, at)  # the attach may have created the catalog
        _engines[key] = engine  # most recently used last
        while len(_engines) > _ENGINE_LIMIT:  # open sessions keep a dropped engine alive until they close
            del _engines[next(iter(_engines))]
        return engine


def _forget_views(wh: Warehouse) -> None:
    identity = _catalog_identity(wh)
    with _engines_lock:
        for key, engine in _engines.items():
            if key[: len(identity)] == identity:
                engine.forget_views()


def migrate(wh: Warehouse, *, read_only: bool = False) -> list[str]:
    """Apply the numbered migrations this warehouse has not seen yet; returns their names.

    Checked once per process for each warehouse and set of migration files, through a read-only
    attach when the process only reads."""
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    checked = (_catalog_identity(wh), str(MIGRATIONS_DIR), tuple(f.name for f in files))
    if checked in _migrated:
        return []
    applied = _applied_migrations(wh, read_only=read_only)
    pending = [(int(f.name[:3]), f) for f in files if int(f.name[:3]) not in applied]
    done = [f.name for _, f in pending]
    if done:
        # One snapshot for all: a warehouse is upgraded whole or not at all, with one commit.
        first, last = pending[0][0], pending[-1][0]

        def apply() -> None:
            run_id = f"migration-{first:03d}" if first == last else f"migration-{first:03d}-{last:03d}"
            with wh.transaction(run_id=run_id, message=f"migrate {', '.join(done)}") as con:
                present = set()  # what a concurrent writer applied meanwhile (a replay after a conflict)
                if MIGRATIONS.name in relations(con.con):
                    present = {r[0] for r in con.execute(f"SELECT version FROM {MIGRATIONS.name}").fetchall()}
                for version, file in pending:
                    if version not in present:
                        con.execute(file.read_text())
                        con.execute("INSERT INTO migrations VALUES (?, ?, now())", [version, file.name])

        retry_on_conflict(apply)
        _forget_views(wh)
    _migrated.add((_catalog_identity(wh), *checked[1:]))  # the catalog file exists by now
    return done


def _applied_migrations(wh: Warehouse, *, read_only: bool) -> set[int]:
    """Versions already applied."""
    file = _catalog_file(wh)
    if file is not None and not file.exists():  # a new warehouse: nothing to attach yet
        return set()
    try:
        con = wh.connect(read_only=read_only, views=False)
    except WarehouseError:  # a catalog not created yet cannot be attached read-only
        return set()
    with con:
        try:
            return {r[0] for r in con.execute(f"SELECT version FROM {MIGRATIONS.name}").fetchall()}
        except duckdb.CatalogException:  # initialized, but no migration applied yet
            return set()


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
    """Names of the lake's tables and of the views this session sees: what a query on ``con`` can read.

    The catalog names are literals, not parameters: a literal filter is pushed into ``duckdb_tables()``,
    which otherwise lists every attached catalog, the DuckLake metadata database included (~1 s)."""
    tables = con.execute(f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{LAKE}'").fetchall()
    views = con.execute(f"SELECT view_name FROM duckdb_views() WHERE database_name IN ('{_VIEWS}', 'temp') "
                        "AND NOT internal").fetchall()
    return {r[0] for r in tables + views}


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
    return sorted(_view_sql())


def views_in(sql: str) -> set[str]:
    """The named views a query mentions: the ones a session for it needs."""
    return set(re.findall(r"\w+", sql.lower())) & _view_sql().keys()


@cache
def _view_sql() -> dict[str, str]:
    """Each named view's SQL, read once per process."""
    return {f.stem: render_view(f.read_text().strip().rstrip(";")) for f in sorted(VIEWS_DIR.glob("*.sql"))}


def _with_dependencies(names: Iterable[str]) -> set[str]:
    """``names`` and every named view they read, directly or through another view."""
    wanted, frontier = set(), set(names)
    while frontier:
        wanted |= frontier
        frontier = set().union(*(views_in(_view_sql()[name]) for name in frontier)) - wanted
    return wanted


def _create_views(con: duckdb.DuckDBPyConnection, names: set[str], partial: bool = False) -> set[str]:
    """Create the named views ``names``; a view that reads another waits until that one exists.
    Returns the views created.

    ``partial``: an old snapshot may predate the tables some views read; those views are left out."""
    pending = {name: _view_sql()[name] for name in sorted(names)}
    done: set[str] = set()
    while pending:
        created, errors = 0, {}
        for name, sql in list(pending.items()):
            try:
                con.execute(f"CREATE OR REPLACE VIEW {_VIEWS}.main.{name} AS {sql}")
                del pending[name]
                done.add(name)
                created += 1
            except (duckdb.CatalogException, duckdb.BinderException) as exc:  # a table or column an old snapshot lacks
                errors[name] = str(exc).splitlines()[0]
        if pending and not created:
            if partial:
                return done
            raise WarehouseError(f"views cannot be created: {errors}")
    return done


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
