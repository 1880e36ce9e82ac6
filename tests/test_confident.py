"""Confident learning over calibrated probabilities: few pairs pruned on clean labels, the planted flips found."""

from __future__ import annotations

import numpy as np

from curate.noise import calibrate, confident


def _pairs(n: int, rate: float, seed: int, alpha: float = 2.0):
    """Skew-normal clean margins (a 60-85% accurate head), a share flipped, canonical classes at random."""
    rng = np.random.default_rng(seed)
    d = alpha / np.sqrt(1 + alpha**2)
    clean = d * np.abs(rng.standard_normal(n)) + np.sqrt(1 - d**2) * rng.standard_normal(n)
    flip = rng.random(n) < rate
    margins = np.where(flip, -clean, clean)
    return 1 - calibrate.fit(margins).p_wrong(margins), rng.integers(0, 2, n), flip


def test_confident_prunes_few_clean_pairs():
    p_right, classes, _ = _pairs(4000, 0.0, seed=0)
    joint = confident.confident_joint(p_right, classes)
    assert joint.issues.mean() < 0.03
    assert joint.noise_rate < 0.03


def test_confident_finds_planted_flips():
    p_right, classes, flip = _pairs(4000, 0.2, seed=1)
    joint = confident.confident_joint(p_right, classes)
    assert 0.05 < joint.issues.mean() < 0.3  # conservative: it counts only pairs past their class threshold
    assert flip[joint.issues].mean() > 0.8
    assert abs(joint.joint.sum() - 1) < 1e-9


def test_confident_margins_that_say_nothing_prune_nothing():
    joint = confident.confident_joint(np.full(500, 0.5), np.arange(500) % 2)
    assert not joint.issues.any() and joint.noise_rate == 0.0
