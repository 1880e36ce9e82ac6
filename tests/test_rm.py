"""Reward heads, peer review, noise-rate estimate and confident learning on synthetic pairs with planted flips."""

from __future__ import annotations

import numpy as np
import pytest

from curate.noise import confident
from curate.noise import rm
from curate.noise import methods as nm
from curate.noise.config import NoiseConfig

FAST = rm.RMConfig(members=4, epochs=80, weight_decay=0.05, lr=0.05)
CONFIG = NoiseConfig(rm=FAST)


def _auroc(truth: np.ndarray, score: np.ndarray) -> float:
    pos, neg = score[truth], score[~truth]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def _planted(n: int = 300, dim: int = 12, rate: float = 0.2, seed: int = 0):
    """Pairs labeled by a true linear reward over [e(y), e(y)*e(x)], then a share of them flipped."""
    rng = np.random.default_rng(seed)
    prompt, a, b = (rng.normal(size=(n, dim)).astype(np.float32) for _ in range(3))
    w = rng.normal(size=2 * dim)
    a_wins = rm.features(prompt, a) @ w > rm.features(prompt, b) @ w
    chosen = np.where(a_wins[:, None], a, b)
    rejected = np.where(a_wins[:, None], b, a)
    flip = np.zeros(n, bool)
    flip[rng.choice(n, int(rate * n), replace=False)] = True
    noisy_c = np.where(flip[:, None], rejected, chosen)
    noisy_r = np.where(flip[:, None], chosen, rejected)
    return prompt, noisy_c, noisy_r, flip


def _texts(prompt: np.ndarray, chosen: np.ndarray, rejected: np.ndarray, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """Texts for the lexical view: each response says a word for the decile of its true reward, among filler words."""
    replay = np.random.default_rng(seed)  # _planted's draws, up to its reward's weights
    for _ in range(3):
        replay.normal(size=prompt.shape)
    w = replay.normal(size=2 * prompt.shape[1])
    rng = np.random.default_rng(seed + 1)
    reward_c, reward_r = rm.features(prompt, chosen) @ w, rm.features(prompt, rejected) @ w
    edges = np.quantile(np.concatenate([reward_c, reward_r]), np.linspace(0.1, 0.9, 9))

    def text(reward: float) -> str:
        return " ".join([f"level{int(np.searchsorted(edges, reward))}", *rng.choice(["so", "well", "then", "indeed"], 3)])

    return [f"question {i}" for i in range(len(prompt))], [text(r) for r in reward_c], [text(r) for r in reward_r]


def planted_inputs(n: int = 300, rate: float = 0.2, seed: int = 0, **fields) -> tuple[nm.Inputs, np.ndarray]:
    """Planted pairs as the methods read them, texts included."""
    prompt, chosen, rejected, flip = _planted(n=n, rate=rate, seed=seed)
    inputs = nm.Inputs(prompt=prompt, chosen=chosen, rejected=rejected, classes=np.arange(n) % 2,
                       texts=_texts(prompt, chosen, rejected, seed), **fields)
    return inputs, flip


@pytest.fixture(scope="module")
def planted():
    inputs, flip = planted_inputs()
    return inputs, flip, nm.score_all(inputs, CONFIG)


@pytest.mark.parametrize("method", ["bt", "ensemble", "confident", "peer", "fused"])
def test_rm_each_method_finds_planted_flips(planted, method):
    _, flip, scores = planted
    assert _auroc(flip, scores[method].score) > 0.85
    assert scores[method].score.shape == flip.shape


def test_rm_scores_are_flip_probabilities(planted):
    _, flip, scores = planted
    for method in ("bt", "ensemble", "peer", "fused"):
        score = scores[method].score
        assert ((score >= 0) & (score <= 1)).all()
        assert score[flip].mean() > 0.5 > score[~flip].mean()


def test_rm_noise_rate_estimate_tracks_the_planted_rate(planted):
    _, flip, scores = planted
    assert abs(scores["bt"].noise_rate - flip.mean()) < 0.1
    assert abs(scores["confident"].noise_rate - flip.mean()) < 0.1


def test_rm_same_seed_same_scores():
    inputs, _ = planted_inputs(n=120)
    first = nm.score_all(inputs, CONFIG, ("bt", "ensemble", "peer"))
    second = nm.score_all(inputs, CONFIG, ("bt", "ensemble", "peer"))
    for method in first:
        np.testing.assert_array_equal(first[method].score, second[method].score)
        np.testing.assert_array_equal(first[method].margins, second[method].margins)
    other = nm.score_all(inputs, NoiseConfig(rm=FAST.model_copy(update={"seed": 1})), ("ensemble",))
    assert not np.array_equal(other["ensemble"].margins, first["ensemble"].margins)


def test_rm_cross_fit_margins_are_out_of_fold():
    """A pair's margin comes from heads that never saw it: relabeling the pair only flips its margin's sign."""
    prompt, chosen, rejected, _ = _planted(n=200, rate=0.0)
    folds = rm.fold_ids(200, 5, 0)
    phi = rm.standardize(rm.features(prompt, chosen), rm.features(prompt, rejected))
    before = rm.cross_fit(*phi, folds=folds, cfg=FAST, members=1)
    swapped = (phi[0].copy(), phi[1].copy())
    swapped[0][0], swapped[1][0] = phi[1][0], phi[0][0]
    after = rm.cross_fit(*swapped, folds=folds, cfg=FAST, members=1)
    assert before.shape == (200, 1)
    assert after[0, 0] == pytest.approx(-before[0, 0], abs=1e-5)
    others = folds != folds[0]
    assert not np.allclose(after[others], before[others])  # heads of the other folds did see the change


def test_rm_fold_ids_keep_groups_together():
    groups = np.repeat(np.arange(30), 3)
    folds = rm.fold_ids(90, 5, 0, groups)
    for g in range(30):
        assert len(set(folds[groups == g])) == 1
    assert set(folds) == set(range(5))


def test_rm_hidden_layer_head_learns():
    prompt, chosen, rejected, flip = _planted(n=300)
    phi = rm.standardize(rm.features(prompt, chosen), rm.features(prompt, rejected))
    cfg = FAST.model_copy(update={"hidden": 8, "epochs": 120})
    margins = rm.cross_fit(*phi, folds=rm.fold_ids(300, 5, 0), cfg=cfg)
    assert _auroc(flip, -margins[:, 0]) > 0.8


def test_confident_joint_counts_off_diagonal_mass():
    rng = np.random.default_rng(0)
    n = 1000
    classes = rng.integers(0, 2, n)
    flip = rng.random(n) < 0.25
    margins = np.where(flip, -3.0, 3.0) + rng.normal(0, 0.5, n)
    joint = confident.confident_joint(margins, classes)
    assert joint.noise_rate == pytest.approx(flip.mean(), abs=0.03)
    assert (joint.issues == flip).mean() > 0.97
    assert joint.joint.sum() == pytest.approx(1.0)


def test_confident_canonical_classes_ignore_the_label():
    assert confident.canonical_classes(["a", "b"], ["b", "a"]).tolist() == [1, 0]


def test_noise_methods_ties_are_scored_not_trained():
    tie = np.zeros(150, bool)
    tie[:10] = True
    inputs, _ = planted_inputs(n=150, rate=0.0, tie=tie)
    scores = nm.score_all(inputs, CONFIG, ("bt", "confident"))
    assert np.isfinite(scores["bt"].score).all()
    assert not scores["confident"].components["issue"][:10].any()


def test_rm_swapping_every_pair_flips_every_margin():
    """Preprocessing must commute with swapping chosen and rejected: a centering or scaling of the
    chosen-minus-rejected features would leak the label's orientation into the features. Trained on the
    swapped pairs (every label inverted), the default linear head scores each originally chosen response
    against its rival with the opposite sign, by the same amount."""
    prompt, chosen, rejected, _ = _planted()
    phi_c, phi_r = rm.features(prompt, chosen), rm.features(prompt, rejected)
    folds = rm.fold_ids(len(phi_c), 5, seed=0)
    cfg = rm.RMConfig(epochs=300)  # the default head, trained long enough to reach its (unique) optimum
    forward = rm.cross_fit(*rm.standardize(phi_c, phi_r), folds=folds, cfg=cfg)[:, 0]
    swapped = rm.cross_fit(*rm.standardize(phi_r, phi_c), folds=folds, cfg=cfg)[:, 0]
    original_chosen_after_swap = -swapped  # r'(chosen) - r'(rejected): the swapped run's margin is r'(rejected) - r'(chosen)
    assert (np.sign(original_chosen_after_swap) == -np.sign(forward)).mean() >= 0.99
    np.testing.assert_allclose(original_chosen_after_swap, -forward, atol=0.02 * np.abs(forward).max())
