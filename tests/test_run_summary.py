"""The run_summary view: one row per stage run with its counts, rejects, LLM usage and the snapshots it read and wrote."""

from __future__ import annotations

import json

from conftest import query, run_ingest, trl, write_jsonl


def test_run_summary_lists_each_run_with_the_snapshots_it_read_and_wrote(wh, tmp_path):
    first = run_ingest(wh, write_jsonl(tmp_path / "a.jsonl", [trl(prompt="q1"), trl(prompt="q2"), '{"broken": ']))
    second = run_ingest(wh, write_jsonl(tmp_path / "b.jsonl", [trl(prompt="q3")]))
    rows = query(wh, "SELECT run_id, stage, rows_in, rows_written, errors, dropped, llm_requests, read_snapshot, wrote_snapshot "
                     "FROM run_summary")
    assert [r[0] for r in rows] == [second.run_id, first.run_id]  # newest first
    newest, oldest = rows
    assert oldest[1:5] == ("ingest", 3, 2, 1) and json.loads(oldest[5]) == {"malformed_json": 1}
    assert newest[5] is None and newest[6] is None  # nothing dropped; no LLM requests
    assert oldest[8] == first.snapshot_id and newest[8] == second.snapshot_id
    assert newest[7] == first.snapshot_id  # the second run started from what the first committed


def test_run_summary_stats_runs_prints_the_last_runs(wh, tmp_path):
    from typer.testing import CliRunner

    from curate.cli import app

    result = run_ingest(wh, write_jsonl(tmp_path / "a.jsonl", [trl()]))
    printed = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["stats", "-w", str(wh.path), "--runs", "3"])
    assert printed.exit_code == 0 and result.run_id in printed.output and "wrote_snapshot" in printed.output
