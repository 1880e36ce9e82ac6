"""``curate explain``: one pair's story from its raw rows to every release that decided it.

Pairs go in through the real ingest (a second file repeats one row and reverses another); judge verdicts,
noise scores with a noise run's reliabilities, and a human batch are planted as their stages write them; the
releases are made by ``curate.release.run``, one before the evidence and one after.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from conftest import run_ingest, trl, write_jsonl
from release_builders import add_judgments
from typer.testing import CliRunner

from curate.cli.explain import SECTIONS
from curate import release
from curate.cli import app
from curate.lineage import UnknownPair, explain
from curate.release import ReleaseConfig
from curate.warehouse import Warehouse
from schemas import ANNOTATION_TASKS, ANNOTATIONS, NOISE_SCORES, PAIRS, RUNS

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
JUDGE = "127.0.0.1/smollm2-135m"
JUDGE_VERSION = f"{JUDGE} pairwise overall"  # how the noise stage names the judge version among the reliabilities
A_ROWS = [
    trl(prompt="q1", chosen="a long and careful answer", rejected="no", strength=2, language="en", annotator="alice"),
    trl(prompt="q2", chosen="fine answer", rejected="bad answer", strength=1, language="en"),
]
B_ROWS = [
    trl(prompt="q1", chosen="a long and careful answer", rejected="no", strength=2, language="en", annotator="alice"),  # dup
    trl(prompt="q1", chosen="no", rejected="a long and careful answer", language="en", annotator="bob"),  # reversed
]


def _plant(wh: Warehouse, run_id: str, table, rows: list[dict]) -> None:
    with wh.transaction(run_id, f"plant {table.name}") as tx:
        tx.append(table, rows)


def _annotation(pair_id: str, annotator: str, verdict: str) -> dict:
    return {"pair_id": pair_id, "annotator": annotator, "verdict": verdict, "strength": {"chosen": 2, "rejected": -2}[verdict],
            "reason": f"{annotator} read both", "lead_time": 12.5, "batch_id": "batch-1", "origin": "label-studio:test#1",
            "annotation_id": f"{pair_id}/{annotator}", "version": 1, "content_hash": verdict, "annotated_at": NOW,
            "run_id": "pull-1", "created_at": NOW}


@pytest.fixture(scope="module")
def story_wh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explain")
    wh = Warehouse.init(tmp / "wh")
    run_ingest(wh, write_jsonl(tmp / "a.jsonl", A_ROWS), source_name="a", detect_language=False)
    second = run_ingest(wh, write_jsonl(tmp / "b.jsonl", B_ROWS), source_name="b", detect_language=False)
    with wh.connect(read_only=True, views=False) as con:
        p1, p2 = (con.execute("SELECT pair_id FROM pairs WHERE prompt[1].content = ?", [q]).fetchone()[0] for q in ("q1", "q2"))
    release.run(wh, ReleaseConfig(name="bare"))
    add_judgments(wh, {p1: ("rejected", "rejected"), p2: ("chosen", "rejected")}, judge=JUDGE)
    _plant(wh, "noise-1", NOISE_SCORES, [
        {"pair_id": p, "method": method, "score": score, "components": json.dumps(components), "config_hash": "test",
         "run_id": "noise-1", "created_at": NOW}
        for p, fused in ((p1, 0.9), (p2, 0.2))
        for method, score, components in (("bt", fused - 0.1, {"margin": -1.5}),
                                          ("fused", fused, {"rm_log_odds": 1.2, "judge_llr": 0.8, "noise_rate": 0.3}))])
    reliabilities = {"label": 0.7, "bt": 0.65, JUDGE_VERSION: 0.8, "human:carol@example.org": 0.9, "human:zed@example.org": 0.55}
    _plant(wh, "noise-1", RUNS, [{"run_id": "noise-1", "stage": "noise", "started_at": NOW, "finished_at": NOW, "config": "{}",
                                  "counts": json.dumps({"details": {"reliabilities": {"fused": reliabilities},
                                                                    "fusion_weights": {"fused": {"bt": 1.0}}}})}])
    _plant(wh, "batch-1", ANNOTATION_TASKS, [
        {"batch_id": "batch-1", "pair_id": p1, "task_id": 7, "left_is_chosen": False, "route_reason": "likely_wrong",
         "p_wrong": 0.9, "run_id": "batch-1", "created_at": NOW}])
    _plant(wh, "pull-1", ANNOTATIONS, [_annotation(p1, "carol@example.org", "rejected"),
                                       _annotation(p1, "dave@example.org", "rejected")])
    release.run(wh, ReleaseConfig(name="v1"))
    return wh, p1, p2, second.snapshot_id


@pytest.fixture
def curate(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_explain_shows_the_pair_and_the_raw_rows_it_came_from(story_wh):
    wh, p1, _, _ = story_wh
    story = explain(wh, p1)
    assert story.pair_id == p1
    assert story.pair["source"] == "a" and story.pair["strength"] == 2 and story.pair["kind"] == "original"
    assert story.pair["chosen"]["content"] == "a long and careful answer"
    rows = [(r["source"], r["source_row"], r["outcome"]) for r in story.raw_rows]
    assert sorted(rows) == [("a", 0, "accepted"), ("b", 0, "duplicate"), ("b", 1, "conflict")]
    assert sorted(r["outcome"] for r in story.duplicates) == ["conflict", "duplicate"]
    assert [(c["kind"], c["annotator"], c["source"]) for c in story.conflicts] == [("reversed", "bob", "b")]


def test_explain_shows_judge_verdicts_in_both_orders_and_the_consistent_verdict(story_wh):
    wh, p1, p2, _ = story_wh
    story = explain(wh, p1)
    assert sorted((j["swapped"], j["verdict"]) for j in story.judgments) == [(False, "rejected"), (True, "rejected")]
    assert [(v["judge"], v["consistent"], v["verdict"]) for v in story.judge_verdicts] == [(JUDGE, True, "rejected")]
    inconsistent = explain(wh, p2).judge_verdicts
    assert [(v["consistent"], v["verdict"], v["verdict_chosen_as_a"], v["verdict_chosen_as_b"]) for v in inconsistent] == [
        (False, None, "chosen", "rejected")]


def test_explain_shows_scores_components_and_the_reliabilities_of_the_sources_that_spoke(story_wh):
    wh, p1, p2, _ = story_wh
    story = explain(wh, p1)
    assert {s["method"]: s["score"] for s in story.scores} == {"bt": pytest.approx(0.8), "fused": 0.9}
    fused = next(s for s in story.scores if s["method"] == "fused")
    assert fused["components"] == {"rm_log_odds": 1.2, "judge_llr": 0.8, "noise_rate": 0.3}
    # the label, the reward model, the consistent judge and carol spoke; zed never saw it, dave has no estimate
    assert {r["annotator"]: r["reliability"] for r in story.reliabilities} == {
        "label": 0.7, "bt": 0.65, JUDGE_VERSION: 0.8, "human:carol@example.org": 0.9}
    # the judge was inconsistent on p2 (no vote in the fused score) and nobody annotated it
    assert {r["annotator"] for r in explain(wh, p2).reliabilities} == {"label", "bt"}


def test_explain_shows_the_human_verdicts_and_their_task(story_wh):
    wh, p1, p2, _ = story_wh
    story = explain(wh, p1)
    assert sorted((a["annotator"], a["verdict"]) for a in story.annotations) == [
        ("carol@example.org", "rejected"), ("dave@example.org", "rejected")]
    assert [(t["batch_id"], t["route_reason"], t["chosen_shown"]) for t in story.tasks] == [("batch-1", "likely_wrong", "right")]
    assert explain(wh, p2).annotations == [] and explain(wh, p2).tasks == []


def test_explain_shows_every_release_with_its_decision_and_reason(story_wh):
    wh, p1, _, _ = story_wh
    story = explain(wh, p1)
    assert [r["release"] for r in story.releases] == ["bare", "v1"]
    bare, v1 = story.releases
    assert bare["decision"] == "keep" and bare["reason"] and bare["split"]
    with wh.connect(read_only=True, views=False) as con:
        stored = con.execute("SELECT decision, reason, human_verdict FROM release_rows WHERE release = 'v1' AND pair_id = ?",
                             [p1]).fetchone()
    assert (v1["decision"], v1["reason"], v1["human_verdict"]) == stored
    assert v1["human_verdict"] == "rejected" and v1["decision"] in ("flip", "drop")


def test_explain_at_a_snapshot_before_the_evidence_has_only_the_ingest(story_wh, curate):
    wh, p1, _, ingested = story_wh
    story = explain(wh, p1, at=ingested)
    assert story.snapshot_id == ingested and len(story.raw_rows) == 3
    assert (story.judgments, story.scores, story.reliabilities, story.annotations, story.tasks, story.releases) == (
        [], [], [], [], [], [])
    result = curate("explain", p1, "--warehouse", str(wh.path), "--at", str(ingested))
    assert result.exit_code == 0, result.output
    assert "judge verdicts, both orders: none" in result.output and "releases: none" in result.output


def test_explain_accepts_a_unique_prefix_and_prints_every_section(story_wh, curate):
    wh, p1, _, _ = story_wh
    result = curate("explain", p1[:10], "--warehouse", str(wh.path))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"pair {p1}" in out and "a long and careful answer" in out and "user: q1" in out
    for title in ("raw rows it came from", "conflicts recorded", "judge verdicts, both orders", "noise scores",
                  "human verdicts", "annotation tasks", "releases"):
        assert title in out
    assert "fused components:" in out and "rm_log_odds" in out and "likely_wrong" in out and "carol@example.org" in out


def test_explain_json_prints_the_story_as_one_object(story_wh, curate):
    wh, p1, _, _ = story_wh
    result = curate("explain", p1, "--warehouse", str(wh.path), "--json")
    assert result.exit_code == 0, result.output
    story = json.loads(result.output)
    assert story["pair_id"] == p1 and story["pair"]["source"] == "a"
    assert [r["release"] for r in story["releases"]] == ["bare", "v1"]
    assert {s["method"] for s in story["scores"]} == {"bt", "fused"}


def test_explain_unknown_or_short_id_exits_2_saying_how_many_matched(story_wh, curate):
    wh, *_ = story_wh
    result = curate("explain", "ffffffff0000", "--warehouse", str(wh.path))
    assert result.exit_code == 2 and "0 pairs matched" in result.output
    result = curate("explain", "abc", "--warehouse", str(wh.path))
    assert result.exit_code == 2 and "at least 8" in result.output
    with pytest.raises(UnknownPair) as caught:
        explain(wh, "not-hex-at-all")
    assert caught.value.exit_code == 2


def test_explain_ambiguous_prefix_exits_2_naming_the_count(wh, curate):
    def pair(pair_id: str) -> dict:
        return {"pair_id": pair_id, "prompt_id": "q", "prompt": [{"role": "user", "content": pair_id}],
                "chosen": {"role": "assistant", "content": "x"}, "rejected": {"role": "assistant", "content": "y"},
                "tie": False, "strength": 1, "language": "en", "source": "s", "kind": "original", "run_id": "plant"}

    _plant(wh, "plant", PAIRS, [pair("deadbeef" + "0" * 24), pair("deadbeef" + "1" * 24)])
    result = curate("explain", "deadbeef", "--warehouse", str(wh.path))
    assert result.exit_code == 2 and "ambiguous" in result.output and "2 pairs matched" in result.output
    assert explain(wh, "deadbeef1").pair_id == "deadbeef" + "1" * 24


def test_explain_pair_with_no_evidence_prints_none_for_each_section(wh, tmp_path, curate):
    run_ingest(wh, write_jsonl(tmp_path / "one.jsonl", [trl(language="en")]), source_name="one", detect_language=False)
    with wh.connect(read_only=True, views=False) as con:
        pid = con.execute("SELECT pair_id FROM pairs").fetchone()[0]
    story = explain(wh, pid)
    assert [r["outcome"] for r in story.raw_rows] == ["accepted"]
    assert not (story.duplicates or story.conflicts or story.judgments or story.scores or story.releases)
    result = curate("explain", pid, "--warehouse", str(wh.path))
    assert result.exit_code == 0, result.output
    assert result.output.count(": none") == len(SECTIONS) - 1  # every section but the raw rows


def test_explain_at_a_snapshot_that_does_not_exist_exits_2(story_wh, curate):
    wh, p1, _, _ = story_wh
    result = curate("explain", p1, "--warehouse", str(wh.path), "--at", "9999")
    assert result.exit_code == 2 and "no snapshot 9999" in result.output
