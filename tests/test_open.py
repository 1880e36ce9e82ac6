"""``curate.open``: SQL over a warehouse from notebooks and scripts, as Polars DataFrames, read-only."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest
from conftest import run_ingest, trl, write_jsonl

import curate
from curate.errors import ConfigError, ReadOnlyViolation


@pytest.fixture
def two_snapshots(wh, tmp_path):
    """The warehouse after one ingest of one pair and a second of two; returns the first ingest's snapshot."""
    run_ingest(wh, write_jsonl(tmp_path / "a.jsonl", [trl(prompt="one")]))
    first = curate.open(wh.path).sql("select max(snapshot_id) as s from lake.snapshots()")["s"][0]
    run_ingest(wh, write_jsonl(tmp_path / "b.jsonl", [trl(prompt="two"), trl(prompt="three")]))
    return first


def test_open_sql_returns_a_polars_dataframe_with_the_rows(wh, two_snapshots):
    frame = curate.open(wh.path).sql("select source, count(*) as n from pairs group by 1 order by 1")
    assert isinstance(frame, pl.DataFrame)
    assert frame.rows() == [("a", 1), ("b", 2)]  # the source is named after its file


def test_open_sql_at_reads_the_earlier_snapshot(wh, two_snapshots):
    reader = curate.open(wh.path)
    assert reader.sql("select count(*) as n from pairs", at=two_snapshots)["n"][0] == 1
    assert reader.sql("select count(*) as n from pairs")["n"][0] == 3
    with pytest.raises(ConfigError, match="no snapshot 999"):
        reader.sql("select 1", at=999)


def test_open_sql_reads_named_views_and_lists_tables_and_views(wh, two_snapshots):
    reader = curate.open(wh.path)
    assert "pairs_by_source" in reader.views() and "pairs" in reader.tables()
    assert not set(reader.tables()) & set(reader.views())
    frame = reader.sql("select source, pairs from pairs_by_source order by source")
    assert frame.rows() == [("a", 1), ("b", 2)]


def test_open_sql_refuses_a_write_statement(wh, two_snapshots):
    reader = curate.open(wh.path)
    for statement in ("delete from pairs", "select 1; drop table pairs"):
        with pytest.raises(ReadOnlyViolation, match="read-only"):
            reader.sql(statement)
    assert reader.sql("select count(*) as n from pairs")["n"][0] == 3


def test_open_import_curate_and_the_cli_load_neither_duckdb_nor_polars_needlessly():
    code = ("import sys, curate; assert 'duckdb' not in sys.modules and 'polars' not in sys.modules; "
            "import curate.cli; assert 'polars' not in sys.modules, 'the CLI imported polars'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
