"""Training dynamics (AUM, cartography) on planted flips: the score finds them, and its threshold samples place its cut."""

from __future__ import annotations

import numpy as np
import pytest

from curate.noise import dynamics, rm
from curate.noise.config import RMConfig

# Little weight decay: the heads memorize part of the wrong labels, so a margin of 0 is no longer the cut.
CFG = RMConfig(lr=0.05, weight_decay=0.001)


def _planted(n: int, dim: int, rate: float, seed: int):
    """Pairs labeled by a true linear reward, a share of them flipped; standardized features."""
    rng = np.random.default_rng(seed)
    prompt, a, b = (rng.normal(size=(n, dim)).astype(np.float32) for _ in range(3))
    w = rng.normal(size=2 * dim)
    a_wins = rm.features(prompt, a) @ w > rm.features(prompt, b) @ w
    flip = np.zeros(n, bool)
    flip[rng.choice(n, int(rate * n), replace=False)] = True
    first = a_wins ^ flip
    chosen, rejected = np.where(first[:, None], a, b), np.where(first[:, None], b, a)
    return rm.standardize(rm.features(prompt, chosen), rm.features(prompt, rejected)), flip


def _auroc(truth: np.ndarray, score: np.ndarray) -> float:
    ranks = np.argsort(np.argsort(score)) + 1
    pos = truth.sum()
    return float((ranks[truth].sum() - pos * (pos + 1) / 2) / (pos * (len(truth) - pos)))


@pytest.mark.parametrize("seed", [0, 1])
def test_dynamics_score_finds_planted_flips(seed):
    (phi_c, phi_r), flip = _planted(n=400, dim=60, rate=0.2, seed=seed)
    dyn = dynamics.training_dynamics(phi_c, phi_r, folds=rm.fold_ids(400, 5, seed), cfg=CFG.model_copy(update={"dynamics_batch_size": 40}), seed=seed)
    assert _auroc(flip, dyn.score) > 0.65


@pytest.mark.parametrize("seed", [2, 3])
def test_dynamics_threshold_samples_matter(seed):
    """The ablation: in-sample AUM has no natural zero (memorizing lifts wrong labels above it); the
    threshold pairs, trained on reversed labels, put the cut where a wrong label's AUM sits."""
    (phi_c, phi_r), flip = _planted(n=400, dim=60, rate=0.2, seed=seed)
    dyn = dynamics.training_dynamics(phi_c, phi_r, folds=rm.fold_ids(400, 5, seed), cfg=CFG.model_copy(update={"dynamics_batch_size": 40}), seed=seed)
    with_threshold = (dyn.score > 0)[flip].mean()
    fixed_zero = (dyn.aum < 0)[flip].mean()
    assert with_threshold > fixed_zero + 0.2
    assert dyn.aum.shape == dyn.confidence.shape == dyn.variability.shape == (400,)
    assert dyn.trajectory.shape == (400, 20)


def test_dynamics_is_seeded_and_skips_untrained_pairs():
    (phi_c, phi_r), _ = _planted(n=200, dim=20, rate=0.1, seed=3)
    folds = rm.fold_ids(200, 5, 3)
    weights = np.ones(200)
    weights[:10] = 0
    a = dynamics.training_dynamics(phi_c, phi_r, folds=folds, cfg=CFG.model_copy(update={"dynamics_epochs": 5}), weights=weights, seed=4)
    b = dynamics.training_dynamics(phi_c, phi_r, folds=folds, cfg=CFG.model_copy(update={"dynamics_epochs": 5}), weights=weights, seed=4)
    np.testing.assert_array_equal(a.score, b.score)
    assert np.isfinite(a.score).all()
