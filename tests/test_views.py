"""The stats views against numbers worked out by hand on a tiny warehouse; the release CLI once each."""

from __future__ import annotations

import json

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from typer.testing import CliRunner

from curate import release
from curate.cli import app
from curate.release import ReleaseConfig
from curate.release.policy import ReleasePolicy
from curate.warehouse import Warehouse

# source s1 (file s1.jsonl): four comparisons and an exact repeat of the first (a second label that agrees);
# source s2 (file s2.jsonl): one new comparison, and p2 with the label reversed (a second label that disagrees).
# Lengths: p1 4 vs 1 chars (ratio 5/2 -> bucket 5), p2 2 vs 9 (3/10 -> 1), p4 3 vs 3 (-> 3), p5 2 vs 4 (3/5 -> 2).
S1 = [
    trl(prompt="p1", chosen="aaaa", rejected="a", strength=2, language="en", annotator="alice"),
    trl(prompt="p2", chosen="aa", rejected="aaaaaaaaa", strength=2, language="en"),
    trl(prompt="p3", chosen="same", rejected="also same", tie=True, strength=0, language="en"),
    trl(prompt="p4", chosen="abc", rejected="abd", language="de"),
    trl(prompt="p1", chosen="aaaa", rejected="a", strength=2, language="en", annotator="alice"),
]
S2 = [
    trl(prompt="p5", chosen="xx", rejected="xx y", language="en"),
    trl(prompt="p2", chosen="aaaaaaaaa", rejected="aa", language="en", annotator="bob"),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Warehouse:
    tmp = tmp_path_factory.mktemp("views")
    wh = Warehouse.init(tmp / "wh")
    run_ingest(wh, write_jsonl(tmp / "s1.jsonl", S1), detect_language=False)
    run_ingest(wh, write_jsonl(tmp / "s2.jsonl", S2), detect_language=False)
    release.run(wh, ReleaseConfig(name="r", policy=ReleasePolicy(splits={"train": 1.0})))
    release.run(wh, ReleaseConfig(name="r2", parent="r", policy=ReleasePolicy(splits={"train": 1.0}, languages=["en"])))
    return wh


def test_views_pairs_by_source_language(tiny):
    assert query(tiny, "SELECT * FROM pairs_by_source_language") == [
        ("s1", "en", 3, 3, 1, 0.75),
        ("s1", "de", 1, 1, 0, 0.25),
        ("s2", "en", 1, 1, 0, 1.0),
    ]


def test_views_label_stats(tiny):
    assert query(tiny, "SELECT * FROM label_stats") == [
        ("s1", "preference", None, 1, 0.25),
        ("s1", "preference", 2, 2, 0.5),
        ("s1", "tie", 0, 1, 0.25),
        ("s2", "preference", None, 1, 1.0),
    ]


def test_views_length_bias(tiny):
    assert query(tiny, "SELECT source, bucket, length_ratio, pairs, share_of_source FROM length_bias") == [
        ("s1", 1, "rejected 2x+ longer", 1, 0.3333),
        ("s1", 3, "similar (within 25%)", 1, 0.3333),
        ("s1", 5, "chosen 2x+ longer", 1, 0.3333),
        ("s2", 2, "rejected longer", 1, 1.0),
    ]


def test_views_annotator_agreement(tiny):
    # s1: the repeat of p1 agrees (annotator alice, from the stored label); s2: bob reverses p2
    assert query(tiny, "SELECT * FROM annotator_agreement") == [
        ("s1", 1, 1, 1, 0, 0, 1.0, 1),
        ("s2", 1, 1, 0, 1, 0, 0.0, 1),
        ("*", 2, 2, 1, 1, 0, 0.5, 2),
    ]


def test_views_release_summary_at_any_snapshot(tiny):
    r, r2 = release.get(tiny, "r"), release.get(tiny, "r2")
    columns = "release, parent, snapshot_id, policy_hash, pairs, kept, flipped, dropped, splits, reasons"
    rows = query(tiny, f"SELECT {columns} FROM release_summary WHERE release IN ('r', 'r2')")
    assert rows == [
        ("r", None, r.snapshot_id, r.policy_hash, 5, 4, 0, 1, "train=4", "unscored=4 tie_excluded=1"),
        ("r2", "r", r2.snapshot_id, r2.policy_hash, 5, 3, 0, 2, "train=3", "unscored=3 language_filtered=1 tie_excluded=1"),
    ]
    assert r.snapshot_id < r2.snapshot_id
    # as of the snapshot r2 read, only r exists
    assert query(tiny, "SELECT release FROM release_summary", at=r2.snapshot_id) == [("r",)]


def test_views_cli_release_diff_export_and_stats(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_WAREHOUSE", str(tiny.path))
    monkeypatch.setenv("COLUMNS", "200")
    invoke = lambda *args: CliRunner().invoke(app, list(args), catch_exceptions=False)  # noqa: E731
    policy = tmp_path / "policy.yaml"
    policy.write_text("include_ties: true\nsplits: {train: 1.0}\n")
    made = invoke("release", "cli-1", "--policy", str(policy), "--parent", "r")
    assert made.exit_code == 0, made.output
    assert "5 pairs read" in made.output and "unscored" in made.output
    again = invoke("release", "cli-1")
    assert again.exit_code == 2 and "already exists" in again.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("min_p_wrong_to_flip: 2\nmin_p_wrong_to_drop: 3\n")
    assert invoke("release", "cli-2", "--policy", str(bad)).exit_code == 2
    compared = invoke("diff", "r", "cli-1")
    assert compared.exit_code == 0 and "1 added, 0 removed, 0 flipped" in compared.output  # the tie joins
    out = tmp_path / "out"
    exported = invoke("export", "cli-1", "--format", "openrlhf", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert "--apply_chat_template" in exported.output
    assert [json.loads(line)["margin"] for line in (out / "train.jsonl").read_text().splitlines()].count(2.0) == 2
    assert invoke("export", "missing", "--out", str(out)).exit_code == 2
    stats = invoke("stats")
    assert stats.exit_code == 0
    for title in ("pairs by source and language", "labels, ties and strengths", "length bias",
                  "second labels of the same comparison", "releases"):
        assert title in stats.output
