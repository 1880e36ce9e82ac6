"""Calibrated P(stated label is wrong | out-of-fold margin), and the noise rate that comes with it.

A flip negates a pair's margin, so the margins oriented by the stated labels are a mirror mixture
``f(m) = (1 - rho) g(m) + rho g(-m)`` of the clean pairs' distribution ``g`` and its mirror image. All of
``rho`` and ``g`` that the data can tell lies in the agreement curve ``q(|m|) = P(m > 0 | |m|)``: with the
clean link ``c = g(m) / (g(m) + g(-m))``, ``q = rho + (1 - 2 rho) c``. The rate is the anchor of that
curve, ``1 - q`` where the head is most confident (there a clean pair's sign is right: ``c -> 1``).

Why not a logistic ceiling ``rho + (1 - 2 rho) sigmoid(a m)`` fitted by likelihood (the former estimator):
for heads this weak, agreement rises almost linearly over the observed margins and never visibly saturates,
so the logistic family reads the rise as a small rate with a flat link; planted flips squeeze the curve
towards 1/2 by ``1 - 2 r`` and make its curvature invisible, so the estimate grew by about half the
injected rate on HH-RLHF, even with the head held fixed (it is the shape, not the head's shrinking margins).

The fit here is built to be exact under that squeeze: the curve is fitted in the *rank* of ``|m|`` (so a
head's margin scale does not matter), as ``E[sign m] = (1 - 2 rho) h(u)`` with ``h`` a Kumaraswamy CDF
(``h(0) = 0``, ``h(1) = 1``: a flexible increasing shape that can plateau or turn up at the top), by least
squares. Random flips at rate ``r`` multiply ``E[sign m]`` by ``1 - 2 r`` and least squares carries that
through exactly, so the estimate moves from ``rho`` to ``r + (1 - 2 r) rho`` (the likelihood's weights
change with the squeeze, which is what biased the old fit). What is still counted as noise: a weak head's
own errors among its most confident pairs (the anchor reads them as flips), so compare rates across
relabelings by their difference, or correct by the rate on the data as given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_SHAPE_A = np.exp(np.linspace(math.log(0.25), math.log(8.0), 25))  # < 1: steep start, > 1: late rise
_SHAPE_B = np.exp(np.linspace(0.0, math.log(30.0), 15))  # >= 1 keeps the slope at the top finite: no extrapolated spike
_RESOLVED_SE = 2.0  # the fitted 1 - 2 rho must clear this many standard errors, else the margins say nothing
_MAX_LLR = math.log(99.0)  # the link reaches certainty only in the limit the anchor extrapolates to; one margin is under 99:1 evidence


@dataclass(frozen=True)
class Calibration:
    """The fitted agreement curve: ``rate`` and the clean link ``h`` over the rank of ``|m|`` in the fitting margins."""

    rate: float
    shape: tuple[float, float]  # Kumaraswamy (a, b): h(u) = 1 - (1 - u^a)^b
    reference: np.ndarray  # sorted |m| of the fitting margins: the rank scale of new margins

    def llr(self, margins: np.ndarray) -> np.ndarray:
        """Log-likelihood ratio (wrong : right) of each margin, without the prior: ``-logit(c(m))``, ``c = (1 + sign(m) h) / 2``."""
        m = np.asarray(margins, dtype=np.float64)
        h = _link(_ranks(np.abs(m), self.reference), *self.shape)
        raw = -2 * np.arctanh(np.clip(np.sign(m) * h, -1 + 1e-12, 1 - 1e-12))
        return _MAX_LLR * np.tanh(raw / _MAX_LLR)  # a soft cap: still strictly monotone, so no ties at the cap

    def log_odds(self, margins: np.ndarray) -> np.ndarray:
        """Posterior log-odds that each stated label is wrong: the prior ``rate`` and the margin's ratio."""
        rate = min(max(self.rate, 1e-4), 0.4999)
        return math.log(rate / (1 - rate)) + self.llr(margins)

    def p_wrong(self, margins: np.ndarray) -> np.ndarray:
        """Calibrated P(stated label wrong | margin)."""
        return 1 / (1 + np.exp(-self.log_odds(margins)))

    def with_rate(self, rate: float) -> Calibration:
        """The same link under another prior: e.g. P(planted flip | m) with the planted rate, or a rate re-estimated by fusion."""
        return Calibration(rate=rate, shape=self.shape, reference=self.reference)


def fit(margins: np.ndarray) -> Calibration:
    """Fit the agreement curve to margins oriented by the stated labels (out of fold: no pair's own label in its margin)."""
    m = np.asarray(margins, dtype=np.float64)
    reference = np.sort(np.abs(m))
    u, sign = _ranks(np.abs(m), reference), np.sign(m)
    best, shape, slope = -math.inf, (1.0, 1.0), 0.0
    for a in _SHAPE_A:
        h = _link(u[None, :], a, _SHAPE_B[:, None])  # (b, n)
        sh, hh = h @ sign, (h * h).sum(axis=1)
        gain = sh * np.abs(sh) / hh  # residual sum of squares saved by the best (1 - 2 rho) at this shape
        i = int(np.argmax(gain))
        if gain[i] > best:
            best, shape, slope = float(gain[i]), (float(a), float(_SHAPE_B[i])), float(sh[i] / hh[i])
    h = _link(u, *shape)
    spread = math.sqrt(((sign - slope * h) ** 2).sum() / max(len(m) - 1, 1) / max((h * h).sum(), 1e-12))
    if slope < _RESOLVED_SE * spread:  # no agreement the data can tell from none: the link is unidentified, not h
        return Calibration(rate=0.5, shape=(1.0, 0.0), reference=reference)  # b = 0: h = 0, every llr 0
    return Calibration(rate=(1 - min(slope, 1.0)) / 2, shape=shape, reference=reference)


def _ranks(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mid-rank of each |m| among the reference, in [0, 1] (ties share one)."""
    n = max(len(reference), 1)
    return (np.searchsorted(reference, z, "left") + np.searchsorted(reference, z, "right")) / (2 * n)


def _link(u: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    return 1 - (1 - u**a) ** b


def ece(p: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: bin-size-weighted |mean prediction - observed rate| over equal-width bins."""
    mean_p, observed, count = reliability(p, truth, bins)
    return float((count * np.abs(mean_p - observed)).sum() / max(count.sum(), 1))


def brier(p: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, dtype=np.float64) - np.asarray(truth, dtype=np.float64)) ** 2))


def reliability(p: np.ndarray, truth: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty equal-width bin of the prediction: mean prediction, observed rate, and pair count."""
    p, truth = np.asarray(p, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    keep = count > 0
    mean_p = np.bincount(which, weights=p, minlength=bins)[keep] / count[keep]
    observed = np.bincount(which, weights=truth, minlength=bins)[keep] / count[keep]
    return mean_p, observed, count[keep]
