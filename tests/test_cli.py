"""The curate CLI: exit codes that mean something, readable summaries, read-only SQL."""

from __future__ import annotations

import json
import re

import pytest
from conftest import trl, write_jsonl
from typer.testing import CliRunner

from curate.cli import app


@pytest.fixture
def curate(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def latest_snapshot(curate) -> str:
    """The warehouse's newest snapshot id, as the CLI reports it."""
    return curate("sql", "select max(snapshot_id) from lake.snapshots()", "-o", "csv").output.splitlines()[-1]


def test_cli_ingest_mixed_file_exits_zero_and_lists_each_bad_row(curate, tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", [trl(prompt="a"), b"{oops", trl(prompt="b", chosen=""), trl(prompt="c")])
    result = curate("ingest", str(path))
    assert result.exit_code == 0, result.output
    assert "4 rows = 2 accepted + 0 duplicate + 0 conflict + 2 rejected" in result.output
    assert "malformed_json" in result.output and "empty_content" in result.output
    counted = curate("sql", "select count(*) as n from pairs", "-o", "json")
    assert json.loads(counted.output) == [{"n": 2}]


def test_cli_ingest_without_valid_rows_exits_5(curate, tmp_path):
    result = curate("ingest", str(write_jsonl(tmp_path / "bad.jsonl", [b"nope", b"{"])))
    assert result.exit_code == 5
    assert "no valid row" in result.output and "malformed_json=2" in result.output


def test_cli_missing_source_exits_4_and_uninitialized_warehouse_exits_3(curate, tmp_path):
    assert curate("ingest", str(tmp_path / "missing.jsonl")).exit_code == 4
    result = curate("sql", "select 1")
    assert result.exit_code == 3 and "curate init" in result.output


def test_cli_map_ingests_an_unfamiliar_layout(curate, tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("question,answer_a,answer_b\nBest pet?,A dog.,A rock.\n")
    result = curate("ingest", str(path), "--map", "prompt=question,chosen=answer_a,rejected=answer_b")
    assert result.exit_code == 0, result.output
    rows = json.loads(curate("sql", "select chosen.content as c from pairs", "-o", "json").output)
    assert rows == [{"c": "A dog."}]
    assert curate("ingest", str(path), "--map", "prompt").exit_code == 2


def test_cli_sql_is_read_only_unless_write_and_supports_time_travel(curate, tmp_path):
    curate("ingest", str(write_jsonl(tmp_path / "a.jsonl", [trl(prompt="one")])))
    first = latest_snapshot(curate)
    curate("ingest", str(write_jsonl(tmp_path / "b.jsonl", [trl(prompt="two")])))
    refused = curate("sql", "delete from pairs")
    assert refused.exit_code == 2 and "read-only" in refused.output and "DELETE" in refused.output
    assert curate("sql", "select 1; drop table pairs").exit_code == 2
    at_first = curate("sql", "select count(*) from pairs", "--at", first, "-o", "csv")
    assert at_first.output.splitlines()[-1] == "1"
    assert curate("sql", "select count(*) from pairs", "-o", "csv").output.splitlines()[-1] == "2"
    bad = curate("sql", "select * from no_such_table")
    assert bad.exit_code == 1 and "query failed" in bad.output


def test_cli_stats_shows_counts_languages_rejects_lengths_and_conflicts(curate, tmp_path):
    rows = [trl(prompt="q1", chosen="a much longer answer", rejected="short"), trl(prompt="q1", chosen="short", rejected="a much longer answer"),
            trl(prompt="q2", chosen=""), trl(prompt="q3", language="de")]
    curate("ingest", str(write_jsonl(tmp_path / "s.jsonl", rows)))
    result = curate("stats")
    assert result.exit_code == 0, result.output
    for title in ("rows by source and outcome", "pairs by language", "reject reasons", "chosen-is-longer rate", "conflicting labels"):
        assert title in result.output
    assert "empty_content" in result.output and "reversed" in result.output and "de" in result.output


def test_cli_ingest_reads_a_yaml_config_and_stores_it_with_the_run(curate, tmp_path):
    path = write_jsonl(tmp_path / "uf.jsonl", [{"instruction": "Pick", "completions": [
        {"response": "a", "overall_score": 5}, {"response": "b", "overall_score": 5}]}])
    config = tmp_path / "pipeline.yaml"
    config.write_text("ingest:\n  include_ties: true\n  source_name: demo-uf\n")
    assert curate("ingest", str(path), "--config", str(config)).exit_code == 0
    stored = json.loads(curate("sql", "select config from runs where stage = 'ingest'", "-o", "json").output)
    assert json.loads(stored[0]["config"])["include_ties"] is True
    assert json.loads(curate("sql", "select source, tie from pairs", "-o", "json").output) == [{"source": "demo-uf", "tie": True}]
    config.write_text("ingest:\n  include_tie: true\n")
    bad = curate("ingest", str(path), "--config", str(config))
    assert bad.exit_code == 2 and "include_tie" in bad.output


def test_cli_stats_at_an_earlier_snapshot(curate, tmp_path):
    curate("ingest", str(write_jsonl(tmp_path / "a.jsonl", [trl(prompt="one")])), "--source", "first")
    first = latest_snapshot(curate)
    curate("ingest", str(write_jsonl(tmp_path / "b.jsonl", [trl(prompt="two")])), "--source", "second")
    earlier = curate("stats", "--at", first)
    assert earlier.exit_code == 0 and f"at snapshot {first}" in earlier.output
    assert re.search(r"│ first ", earlier.output) and not re.search(r"│ second ", earlier.output)  # source cells
