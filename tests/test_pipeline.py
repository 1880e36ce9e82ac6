"""`curate run` over a pipeline config: the chain, a second run that does nothing, and a run after a new file
that processes only its pairs, counted at a scripted judge server and in the embedding cache."""

from __future__ import annotations

import yaml
from conftest import query, trl, write_jsonl
from judgeserver import ScriptedJudge, verdict
from typer.testing import CliRunner

from curate.cli import app
from curate.warehouse import Warehouse


def _rows(prefix: str, n: int) -> list[dict]:
    return [trl(prompt=f"{prefix} question {i} about tea?", chosen=f"A careful answer {prefix}{i}.",
                rejected=f"No ({prefix}{i}).") for i in range(n)]


def _config(tmp_path, judge_url: str) -> str:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({
        "warehouse": "wh",
        "stages": ["ingest", "judge", "noise", "release"],
        "ingest": {"sources": [{"source": "data/*.jsonl", "detect_language": False}]},
        "judge": {"base_url": judge_url, "model": "scripted", "limits": {"max_retries": 1, "backoff_base_s": 0.01}},
        "noise": {"rm": {"members": 2, "epochs": 20, "folds": 3}},
        "release": {"name": "prefs-{snapshot}", "out": "out"},
    }))
    return str(path)


def _snapshots(wh: Warehouse) -> int:
    return query(wh, "SELECT count(*) FROM lake.snapshots()")[0][0]


def test_pipeline_second_run_does_nothing_and_a_new_file_is_all_that_is_processed(prefect_harness, tmp_path):
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", _rows("a", 12))
    runner = CliRunner(env={"COLUMNS": "200"})
    with ScriptedJudge(lambda shown: verdict("A")) as judge:
        config = _config(tmp_path, judge.base_url)
        first = runner.invoke(app, ["run", "--config", config])
        assert first.exit_code == 0, first.output
        wh = Warehouse.open(tmp_path / "wh")
        assert len(judge.requests) == 24  # every pair, both orders
        assert query(wh, "SELECT count(*) FROM releases") == [(1,)] and "prefs-" in first.output
        snapshots = _snapshots(wh)

        again = runner.invoke(app, ["run", "--config", config])
        assert again.exit_code == 0 and "nothing new" in again.output, again.output
        assert len(judge.requests) == 24 and _snapshots(wh) == snapshots  # no request, no snapshot

        write_jsonl(tmp_path / "data" / "b.jsonl", _rows("b", 3))
        third = runner.invoke(app, ["run", "--config", config])
        assert third.exit_code == 0, third.output
        assert len(judge.requests) == 24 + 6  # only the three new pairs, both orders
        assert "1 new or changed file(s), 1 unchanged" in third.output and "refit on every pair" in third.output
    ingests = query(wh, "SELECT count(*) FROM runs WHERE stage = 'ingest'")[0][0]
    embedded = query(wh, "SELECT counts FROM runs WHERE stage = 'embed' ORDER BY started_at")
    assert ingests == 2  # a.jsonl once, b.jsonl once: the unchanged file is never read again
    import json

    first_embed, last_embed = (json.loads(c)["outcomes"] for (c,) in (embedded[0], embedded[-1]))
    assert first_embed["embedded"] == 12 + 24 and last_embed == {"cached": 36, "embedded": 3 + 6}  # new texts only
    assert query(wh, "SELECT count(*) FROM releases") == [(2,)]


def test_pipeline_bad_config_fails_before_prefect_starts(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"warehouse": "wh", "stages": ["ingest", "decontaminate"]}))
    result = CliRunner().invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 2 and "stages" in result.output


def test_pipeline_each_stage_result_is_a_prefect_artifact(prefect_harness, tmp_path):
    """What the Prefect UI shows per task run: the stage result as a markdown table."""
    import asyncio

    from prefect.client.orchestration import get_client

    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", _rows("a", 3))
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"warehouse": "wh", "stages": ["ingest"],
                                    "ingest": {"sources": [{"source": "data/*.jsonl", "detect_language": False}]}}))
    result = CliRunner().invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 0, result.output

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def latest():  # the session's Prefect API holds every flow test's artifacts: take this run's, the newest
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-result"])),
                                               sort=ArtifactSort.CREATED_DESC, limit=1)

    found = asyncio.run(latest())
    assert found and "| rows written | 3 |" in found[0].data


def test_pipeline_failed_run_resumes_where_it_stopped(prefect_harness, tmp_path):
    """A run whose noise step fails (a bad section) keeps what ingest and judge did; the next run, with the
    section fixed, reads no file again, sends the judge nothing, and runs the noise step."""
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", _rows("a", 9))
    runner = CliRunner(env={"COLUMNS": "200"})
    with ScriptedJudge(lambda shown: verdict("A")) as judge:
        config = _config(tmp_path, judge.base_url)
        broken = yaml.safe_load(open(config))
        broken["noise"] = {"methods": ["no-such-method"]}
        open(config, "w").write(yaml.safe_dump(broken))
        failed = runner.invoke(app, ["run", "--config", config])
        assert failed.exit_code != 0 and len(judge.requests) == 18
        wh = Warehouse.open(tmp_path / "wh")
        assert query(wh, "SELECT count(*) FROM runs WHERE stage = 'noise'") == [(0,)]

        config = _config(tmp_path, judge.base_url)  # fixed
        resumed = runner.invoke(app, ["run", "--config", config])
        assert resumed.exit_code == 0, resumed.output
        assert len(judge.requests) == 18 and "judge: skipped" in resumed.output
    assert query(wh, "SELECT count(*) FROM runs WHERE stage = 'ingest'") == [(1,)]
    assert query(wh, "SELECT count(*) FROM runs WHERE stage = 'noise'") == [(1,)]


def test_pipeline_snapshots_name_the_flow_run_that_made_them(prefect_harness, tmp_path):
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", _rows("a", 3))
    write_jsonl(tmp_path / "data" / "b.jsonl", _rows("b", 2))
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"warehouse": "wh", "stages": ["ingest"],
                                    "ingest": {"sources": [{"source": "data/*.jsonl", "detect_language": False}]}}))
    assert CliRunner().invoke(app, ["run", "--config", str(path)]).exit_code == 0
    tags = query(Warehouse.open(tmp_path / "wh"), "SELECT json_extract_string(commit_extra_info, '$.flow_run_id') "
                 "FROM lake.snapshots() WHERE json_extract_string(commit_extra_info, '$.run_id') LIKE 'ingest-%'")
    assert len(tags) == 2 and tags[0][0] and tags[0] == tags[1]  # both files' snapshots, one flow run
