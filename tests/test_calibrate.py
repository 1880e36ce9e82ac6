"""Calibration of out-of-fold margins: an unbiased noise rate and a calibrated P(label wrong | margin)."""

from __future__ import annotations

import numpy as np
import pytest

from curate.noise import calibrate


def _skew_normal(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Clean pairs' margins: skew-normal, so the clean link is probit(alpha m) and reaches 1 on the confident side."""
    d = alpha / np.sqrt(1 + alpha**2)
    return d * np.abs(rng.standard_normal(n)) + np.sqrt(1 - d**2) * rng.standard_normal(n)


def _margins(n: int, rate: float, seed: int, alpha: float = 2.0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    clean = _skew_normal(n, alpha, rng) * scale
    flip = rng.random(n) < rate
    return np.where(flip, -clean, clean), flip


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.4])
def test_calibrate_rate_is_within_five_points(rate):
    margins, flip = _margins(4000, rate, seed=int(rate * 10))
    assert calibrate.fit(margins).rate == pytest.approx(flip.mean(), abs=0.05)


def test_calibrate_rate_moves_with_planted_flips_even_when_the_link_never_saturates():
    """A weak head (62% accurate, link never near 1): the anchor counts its own errors, but flips add exactly r (1 - 2 rho)."""
    rng = np.random.default_rng(7)
    clean = _skew_normal(6000, 0.4, rng)
    base = calibrate.fit(clean).rate
    for rate in (0.2, 0.4):
        flip = rng.random(6000) < rate
        expected = base + flip.mean() * (1 - 2 * base)
        assert calibrate.fit(np.where(flip, -clean, clean)).rate == pytest.approx(expected, abs=0.04)


def test_calibrate_improves_held_out_ece_over_the_raw_sigmoid():
    train, _ = _margins(4000, 0.2, seed=1, scale=0.3)  # a head trained on noisy labels: small margins
    test, flip = _margins(4000, 0.2, seed=2, scale=0.3)
    cal = calibrate.fit(train)
    calibrated, raw = cal.p_wrong(test), 1 / (1 + np.exp(test))
    assert calibrate.ece(calibrated, flip) < 0.05
    assert calibrate.ece(calibrated, flip) < calibrate.ece(raw, flip) / 3
    assert calibrate.brier(calibrated, flip) < calibrate.brier(raw, flip)


def test_calibrate_p_wrong_falls_with_the_margin_and_llr_excludes_the_prior():
    margins, _ = _margins(2000, 0.2, seed=3)
    cal = calibrate.fit(margins)
    grid = np.linspace(-3, 3, 61)
    assert (np.diff(cal.p_wrong(grid)) <= 0).all()
    np.testing.assert_allclose(cal.with_rate(0.3).llr(grid), cal.llr(grid))
    assert cal.with_rate(0.3).p_wrong(np.zeros(1))[0] > cal.p_wrong(np.zeros(1))[0]


def test_calibrate_without_signal_says_nothing():
    margins = np.random.default_rng(4).standard_normal(2000)  # symmetric: no agreement with the labels
    cal = calibrate.fit(margins)
    assert cal.rate == 0.5
    np.testing.assert_array_equal(cal.llr(margins), 0.0)


def test_calibrate_metrics():
    rng = np.random.default_rng(5)
    p = rng.random(20000)
    truth = rng.random(20000) < p
    assert calibrate.ece(p, truth) < 0.02
    assert calibrate.ece(np.full(20000, 0.9), truth) == pytest.approx(0.4, abs=0.02)
    mean_p, observed, count = calibrate.reliability(p, truth, bins=5)
    assert len(mean_p) == len(observed) == len(count) == 5 and count.sum() == 20000
    np.testing.assert_allclose(mean_p, observed, atol=0.03)
    assert calibrate.brier(p, truth) == pytest.approx(1 / 6, abs=0.01)
