"""Prefect flows compose library stages and pass only paths, configs and snapshot ids."""

from __future__ import annotations

import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate.warehouse import Warehouse


@pytest.mark.slow
def test_flows_ingest_flow_runs_each_source_as_one_snapshot(prefect_harness, tmp_path):
    from flows.ingest import ingest_flow

    first = write_jsonl(tmp_path / "a.jsonl", [trl(prompt="one"), b"{broken"])
    second = tmp_path / "b.csv"
    second.write_text("q,good,bad\ntwo,yes,no\n")
    warehouse = str(tmp_path / "wh")
    results = ingest_flow(warehouse, [
        {"source": str(first)},
        {"source": str(second), "column_map": {"prompt": "q", "chosen": "good", "rejected": "bad"}},
    ])
    assert [r["outcomes"]["accepted"] for r in results] == [1, 1]
    assert results[0]["outcomes"]["rejected"] == 1
    first, second = (r["snapshot_id"] for r in results)
    assert second == first + 1
    assert set(results[0]) >= {"run_id", "snapshot_id", "tables_written"}
    assert query(Warehouse.open(warehouse), "SELECT count(*) FROM pairs") == [(2,)]


@pytest.mark.slow
def test_flows_stage_failure_is_reported_as_stage_failed(prefect_harness, tmp_path):
    from flows.ingest import ingest_flow

    from curate.errors import StageFailed

    bad = write_jsonl(tmp_path / "bad.jsonl", [b"{"])
    with pytest.raises(StageFailed, match="found no valid row"):
        ingest_flow(str(tmp_path / "wh"), [{"source": str(bad)}])


@pytest.mark.slow
def test_flows_judge_rerun_on_the_same_pairs_is_skipped_until_pairs_change(prefect_harness, wh, tmp_path):
    from flows.judge import judge_flow
    from judgeserver import ScriptedJudge, verdict

    run_ingest(wh, write_jsonl(tmp_path / "a.jsonl", [trl(prompt="one"), trl(prompt="two")]), detect_language=False)
    with ScriptedJudge(lambda shown: verdict("A")) as server:
        config = {"base_url": server.base_url, "model": "scripted", "limit": 2}
        first = judge_flow(str(wh.path), config)
        sent = server.count
        again = judge_flow(str(wh.path), config)
        assert again["skipped"] and again["run_id"] == first["run_id"] and server.count == sent
        run_ingest(wh, write_jsonl(tmp_path / "b.jsonl", [trl(prompt="three")]), detect_language=False)
        after = judge_flow(str(wh.path), config)
    assert not first["skipped"] and not after["skipped"] and after["run_id"] != first["run_id"]


def test_flows_retry_only_transient_causes():
    from prefect.states import Failed

    from curate.errors import CommitConflict, ConfigError, StageFailed
    from flows.tasks import transient_only

    def failed(cause: Exception) -> Failed:
        try:
            raise StageFailed("stage failed", stage="test") from cause
        except StageFailed as exc:
            return Failed(data=exc)

    assert transient_only(None, None, failed(CommitConflict("busy")))
    assert not transient_only(None, None, failed(ConfigError("bad config")))
