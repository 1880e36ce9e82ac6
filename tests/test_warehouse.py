"""Warehouse: migrations from the one schema definition, catalogs, concurrent writers and readers."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from conftest import query, trl, write_jsonl

from curate import ingest
from curate.errors import WarehouseError
from curate.warehouse import Warehouse, _packaged_binary, migrate
from schemas import ALL_TABLES, MIGRATION_SETS, AddColumns, migration_sql
from warehouse import MIGRATIONS_DIR

ROOT = Path(__file__).resolve().parents[1]


def test_warehouse_migration_sql_is_generated_from_schemas():
    for stem, tables in MIGRATION_SETS.items():
        assert (MIGRATIONS_DIR / f"{stem}.sql").read_text() == migration_sql(tables), "run: python -m schemas"
    assert sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql")) == list(MIGRATION_SETS)


def test_warehouse_add_columns_step_extends_the_previous_version_only():
    from dataclasses import replace

    from schemas.judge import JUDGMENTS, JUDGMENTS_V1

    step = AddColumns(JUDGMENTS, JUDGMENTS_V1)
    assert [c.name for c in step.columns] == ["settings_hash", "settings"]
    assert step.ddl().startswith("ALTER TABLE judgments ADD COLUMN IF NOT EXISTS settings_hash VARCHAR;")
    with pytest.raises(ValueError, match="does not extend"):
        AddColumns(replace(JUDGMENTS, columns=JUDGMENTS.columns[1:]), JUDGMENTS_V1)  # a dropped column is no addition
    with pytest.raises(ValueError, match="does not extend"):
        AddColumns(replace(JUDGMENTS, version=1), JUDGMENTS_V1)  # a column change bumps the version


def test_warehouse_tables_match_schema_definitions(wh):
    for table in ALL_TABLES:
        columns = query(wh, "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'lake' "
                            "AND table_name = ? ORDER BY ordinal_position", [table.name])
        assert [c for (c,) in columns] == table.names


def test_warehouse_init_is_idempotent_and_open_requires_init(wh, tmp_path):
    assert migrate(wh) == []
    assert Warehouse.init(wh.path) == wh
    assert query(wh, "SELECT name FROM migrations ORDER BY version") == [(f"{stem}.sql",) for stem in MIGRATION_SETS]
    with pytest.raises(WarehouseError, match="curate init"):
        Warehouse.open(tmp_path / "elsewhere")


def test_warehouse_default_catalog_is_sqlite_with_parquet_data(wh, tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [trl(prompt=f"q{i}") for i in range(50)])
    ingest.run(wh, ingest.IngestConfig(source=str(path)))
    assert (wh.path / "catalog.sqlite").exists()
    assert list(wh.data_path.rglob("*.parquet")), "pair data is stored as Parquet under the warehouse"


def test_warehouse_extensions_come_from_the_pypi_binaries():
    assert _packaged_binary("ducklake").endswith("ducklake.duckdb_extension")
    assert _packaged_binary("sqlite").endswith("sqlite.duckdb_extension")


def _ingest_in_process(warehouse: str, source: str) -> int:
    return ingest.run(Warehouse.open(warehouse), ingest.IngestConfig(source=source, detect_language=False)).rows_written


def test_warehouse_concurrent_writers_all_land(wh, tmp_path):
    files = [write_jsonl(tmp_path / f"w{w}.jsonl", [trl(prompt=f"writer {w} q{i}") for i in range(200)]) for w in range(4)]
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        written = list(pool.map(_ingest_in_process, [str(wh.path)] * 4, map(str, files)))
    assert written == [200] * 4
    assert query(wh, "SELECT count(*), count(DISTINCT pair_id) FROM pairs") == [(800, 800)]
    assert query(wh, "SELECT count(DISTINCT run_id) FROM raw_rows") == [(4,)]


def test_warehouse_reader_works_while_a_writer_holds_a_transaction(wh, tmp_path):
    write_jsonl(tmp_path / "first.jsonl", [trl()])
    ingest.run(wh, ingest.IngestConfig(source=str(tmp_path / "first.jsonl")))
    with wh.transaction("writer-run", "long write") as writer:  # holds the transaction open while another process reads
        writer.execute("INSERT INTO runs (run_id, stage) VALUES ('writer-run', 'test')")
        reader = subprocess.run(
            [sys.executable, "-m", "curate.cli", "sql", "select count(*) from pairs", "--warehouse", str(wh.path), "-o", "csv"],
            capture_output=True, text=True, timeout=120,
        )
        assert reader.returncode == 0, reader.stderr
        assert reader.stdout.splitlines()[-1] == "1"
    assert query(wh, "SELECT stage FROM runs WHERE run_id = 'writer-run'") == [("test",)]


def test_warehouse_catalog_is_configurable(tmp_path):
    wh = Warehouse.init(tmp_path / "wh", catalog="duckdb:catalog.ducklake")
    assert Warehouse.open(wh.path).catalog == "duckdb:catalog.ducklake"
    assert (wh.path / "catalog.ducklake").exists()
    assert query(wh, "SELECT count(*) FROM pairs") == [(0,)]
    with pytest.raises(WarehouseError, match="unsupported catalog"):
        Warehouse.init(tmp_path / "other", catalog="mysql:db")
