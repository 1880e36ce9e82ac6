"""train-rm with ties: the export's ``preference`` (0.5 on a tie) trains with the soft-label Bradley-Terry loss;
a training set of plain pairs runs TRL's RewardTrainer untouched."""

from __future__ import annotations

import pytest
from conftest import run_ingest, trl, write_jsonl

from curate import release, sequence
from curate.evaluate import train_rm
from curate.evaluate.config import TrainRMConfig
from curate.release.policy import load_policy


@pytest.fixture
def tie_release(wh, tmp_path):
    rows = [trl(prompt=f"Question {i} about tea?", chosen=f"A long and careful answer number {i}.", rejected="No.")
            for i in range(12)]
    rows += [trl(prompt=f"Tie question {i}?", chosen=f"Answer {i} one way.", rejected=f"Answer {i}, put another way.", tie=True)
             for i in range(4)]
    run_ingest(wh, write_jsonl(tmp_path / "p.jsonl", rows), detect_language=False)
    policy = load_policy(None).model_copy(update={"include_ties": True, "splits": {"train": 1.0}})
    release.run(wh, release.ReleaseConfig(name="ties", policy=policy))
    return wh


def test_train_rm_soft_label_loss_is_trls_loss_on_plain_pairs_and_centred_on_ties():
    torch = pytest.importorskip("torch")
    d = torch.tensor([-2.0, -0.3, 0.0, 0.7, 3.0])
    m = torch.tensor([0.0, 0.5, 1.0, 0.0, 2.0])
    trl_loss = -torch.nn.functional.logsigmoid(d - m).mean()
    assert torch.equal(train_rm.soft_label_loss(torch, d, torch.ones(5), m), trl_loss)
    assert torch.equal(train_rm.soft_label_loss(torch, d, torch.ones(5)), -torch.nn.functional.logsigmoid(d).mean())
    x = torch.tensor([0.0], requires_grad=True)
    train_rm.soft_label_loss(torch, x, torch.tensor([0.5])).backward()
    assert x.grad.item() == 0.0  # a tie's loss is smallest where both rewards are equal
    half = torch.tensor([0.5] * 5)
    assert torch.allclose(train_rm.soft_label_loss(torch, d, half), train_rm.soft_label_loss(torch, -d, half))


def test_train_rm_train_pairs_carry_the_exported_preference_of_ties(tie_release):
    info = release.get(tie_release, "ties")
    pairs, _ = train_rm.train_pairs(tie_release, info, set(), None)
    ties = [p for p in pairs if p.preference != 1.0]
    assert len(pairs) == 16 and len(ties) == 4
    assert {p.preference for p in ties} == {0.5} and all(p.margin == 0.0 for p in ties)
    assert all(p.chosen.startswith("Answer") for p in ties)


def test_train_rm_dataset_has_preference_and_weight_columns_only_with_ties_or_weights():
    transformers = pytest.importorskip("transformers")
    tok = sequence.tokenizer(transformers, sequence.default_model())
    prompt = [{"role": "user", "content": "Hi?"}]
    plain = [train_rm.Pair("a", prompt, "Hello there.", "No.")]
    cfg = TrainRMConfig(release="x", max_length=32)
    assert train_rm._tokenized(tok, plain, cfg).column_names == ["chosen_ids", "rejected_ids"]
    tied = [*plain, train_rm.Pair("b", prompt, "Hi.", "Hello.", preference=0.5)]
    data = train_rm._tokenized(tok, tied, cfg)
    assert data.column_names == ["chosen_ids", "rejected_ids", "preference", "weight"] and data["preference"] == [1.0, 0.5]
    weighted = [*plain, train_rm.Pair("c", prompt, "Hello.", ":", weight=0.1)]
    data = train_rm._tokenized(tok, weighted, cfg)
    assert data["preference"] == [1.0, 1.0] and data["weight"] == [1.0, 0.1]


def test_train_rm_weighted_loss_is_the_weighted_mean_and_plain_at_unit_weights():
    torch = pytest.importorskip("torch")
    d, p = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.5])
    plain = train_rm.soft_label_loss(torch, d, p)
    assert torch.isclose(train_rm.soft_label_loss(torch, d, p, weight=torch.ones(3)), plain)
    w = torch.tensor([1.0, 0.1, 0.1])
    each = -(p * torch.nn.functional.logsigmoid(d) + (1 - p) * torch.nn.functional.logsigmoid(-d))
    assert torch.isclose(train_rm.soft_label_loss(torch, d, p, weight=w), (w * each).sum() / w.sum())


@pytest.mark.slow
def test_train_rm_fit_trains_ties_with_the_soft_label_trainer(monkeypatch):
    torch, transformers, trl = (pytest.importorskip(m) for m in ("torch", "transformers", "trl"))
    prompt = [{"role": "user", "content": "Say something about tea."}]
    pairs = [train_rm.Pair(f"p{i}", prompt, f"Tea is a drink, fact {i}.", "No.") for i in range(6)]
    pairs += [train_rm.Pair(f"t{i}", prompt, f"Tea {i}.", f"Tea, {i}.", preference=0.5) for i in range(2)]
    seen = []
    real = train_rm.soft_label_loss
    monkeypatch.setattr(train_rm, "soft_label_loss", lambda *a, **k: seen.append(a[2].tolist()) or real(*a, **k))
    cfg = TrainRMConfig(release="x", max_length=32, batch_size=4, max_train_pairs=8)
    model, tok, _ = train_rm.fit(torch, transformers, trl, sequence.default_model(), pairs, cfg, "cpu")
    assert sorted(p for batch in seen for p in batch) == [0.5, 0.5] + [1.0] * 6  # every pair, with its soft label
    assert 0.0 <= train_rm.accuracy(torch, model, tok, pairs[:6], cfg) <= 1.0


def test_noise_heads_fit_soft_labels_default_to_plain_training_and_pull_ties_to_zero():
    pytest.importorskip("torch")
    import numpy as np

    from curate.noise import heads
    from curate.noise.config import RMConfig

    rng = np.random.default_rng(0)
    c, r = rng.normal(size=(120, 6)).astype(np.float32), rng.normal(size=(120, 6)).astype(np.float32)
    cfg, w = RMConfig(epochs=20), np.ones((2, 120))
    plain = heads.fit(c, r, w, cfg, seed=3).margins(c, r)
    assert np.array_equal(plain, heads.fit(c, r, w, cfg, seed=3, preferences=np.ones(120)).margins(c, r))
    tied = heads.fit(c, r, w, cfg, seed=3, preferences=np.full(120, 0.5)).margins(c, r)
    assert np.abs(tied).mean() < 0.5 * np.abs(plain).mean()
