"""The curate CLI: exit codes that mean something, readable summaries, read-only SQL."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
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


def rejects(curate) -> list[list]:
    """(row, reason) of every rejected row, as ``curate sql`` reports them."""
    out = curate("sql", "select source_row, reason from raw_rows where outcome = 'rejected' order by 1", "-o", "json").output
    return [[r["source_row"], r["reason"]] for r in json.loads(out)]


def test_cli_ingest_bad_tie_rows_are_rejected_and_false_words_are_no_tie(curate, tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text("prompt,chosen,rejected,tie\nq0,a,b,false\nq1,a,b,0\nq2,a,b,sometimes\nq3,a,b,true\n")
    result = curate("ingest", str(path), "--no-detect-language")
    assert result.exit_code == 0, result.output
    assert "bad_tie" in result.output and rejects(curate) == [[2, "bad_tie"]]
    ties = json.loads(curate("sql", "select tie from pairs order by source_row", "-o", "json").output)
    assert [t["tie"] for t in ties] == [False, False, True]


def test_cli_ingest_truncated_gzip_exits_zero_with_unreadable_source(curate, tmp_path):
    data = b"".join(json.dumps(trl(prompt=f"q{i}")).encode() + b"\n" for i in range(300))
    whole = gzip.compress(data)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    result = curate("ingest", str(path), "--no-detect-language")
    assert result.exit_code == 0, result.output
    assert "Aborted" not in result.output and "unreadable_source" in result.output
    ((row, reason),) = rejects(curate)
    assert reason == "unreadable_source" and row > 0
    counted = json.loads(curate("sql", "select count(*) as n from pairs", "-o", "json").output)
    assert counted == [{"n": row}]  # every row before the break is kept


def test_cli_ingest_nan_strength_in_parquet_exits_zero_with_bad_strength(curate, tmp_path):
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"prompt": ["a", "b"], "chosen": ["x", "x"], "rejected": ["y", "y"],
                             "strength": pa.array([float("nan"), 1.0])}), path)
    result = curate("ingest", str(path), "--no-detect-language")
    assert result.exit_code == 0, result.output
    assert rejects(curate) == [[0, "bad_strength"]]


def test_cli_sql_bad_query_prints_duckdbs_message_on_one_line_and_exits_1(curate, tmp_path):
    curate("init")
    for query, message in (("selec 1", 'Parser Error: syntax error at or near "selec"'),
                           ("select * from no_such_table", "Catalog Error: Table with name no_such_table does not exist")):
        result = curate("sql", query)
        assert result.exit_code == 1
        (line,) = result.output.strip().splitlines()
        assert line.startswith("error: query failed: ") and message in line and "Traceback" not in line


def test_cli_sql_format_csv_and_json_put_only_the_data_on_stdout(curate, tmp_path):
    curate("ingest", str(write_jsonl(tmp_path / "a.jsonl", [trl(chosen="one, with a comma"), trl(prompt="b", chosen="two")])))
    query = "select chosen.content as p, tie from pairs order by 1"
    piped = curate("sql", query, "--format", "csv")
    assert piped.exit_code == 0 and piped.stderr == ""
    assert list(csv.reader(io.StringIO(piped.stdout))) == [["p", "tie"], ["one, with a comma", "False"], ["two", "False"]]
    as_json = curate("sql", query, "--format", "json")
    assert json.loads(as_json.stdout) == [{"p": "one, with a comma", "tie": False}, {"p": "two", "tie": False}]
    assert curate("sql", query, "-o", "json").stdout == as_json.stdout  # the deprecated spelling still works
    out = tmp_path / "rows.csv"
    written = curate("sql", query, "--format", "csv", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == "" and out.read_text() == piped.stdout


def test_cli_sql_format_parquet_writes_the_out_file_and_needs_one(curate, tmp_path):
    curate("ingest", str(write_jsonl(tmp_path / "a.jsonl", [trl(chosen="one"), trl(prompt="b", chosen="two")])))
    out = tmp_path / "f.parquet"
    written = curate("sql", "select chosen.content as p from pairs order by 1", "--format", "parquet", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert pq.read_table(out).to_pylist() == [{"p": "one"}, {"p": "two"}]
    missing = curate("sql", "select 1", "--format", "parquet")
    assert missing.exit_code == 2 and "--out" in missing.output
    table_to_file = curate("sql", "select 1", "--out", str(tmp_path / "t.txt"))
    assert table_to_file.exit_code == 2 and "--format table" in table_to_file.output
    assert curate("sql", "select 1", "--format", "csv", "-o", "json").exit_code == 2


def test_cli_bad_at_output_and_warehouse_path_are_usage_errors_not_tracebacks(curate, tmp_path):
    curate("init")
    missing = curate("sql", "select 1", "--at", "999")
    assert missing.exit_code == 2 and "no snapshot 999" in missing.output
    assert curate("stats", "--at", "999").exit_code == 2
    assert curate("sql", "select 1", "--at", "-1").exit_code == 2
    for option in ("--format", "-o"):
        bad_output = curate("sql", "select 1", option, "xml")
        assert bad_output.exit_code == 2 and "unknown format 'xml'" in bad_output.output
    (tmp_path / "a-file").write_text("")
    not_a_dir = curate("init", "--warehouse", str(tmp_path / "a-file"))
    assert not_a_dir.exit_code == 3 and "cannot create a warehouse" in not_a_dir.output
