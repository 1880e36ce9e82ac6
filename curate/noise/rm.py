"""Embedding reward models: cross-fitted Bradley-Terry heads, ensembles, dual-RM peer review, noise rate.

A reward head scores a response ``y`` to a prompt ``x`` from fixed sentence
embeddings, over the features ``[e(y), e(y) * e(x)]`` (standardized). A pair's
margin is ``r(x, chosen) - r(x, rejected)`` and the Bradley-Terry loss is
``softplus(-margin)``. Heads are tiny (linear, or one small tanh layer) and
trained full-batch (or with large batches) with Adam, so a whole cross-fit of
many heads takes seconds on two cores.

Every pair's margin is *out of fold*: the data is split into K folds (pairs
with the same prompt stay together) and a pair is scored only by heads that
never saw it. Many heads train at once as one batched model (one group per
fold and member), each with its own per-pair training weights (0 for held-out
pairs, bootstrap counts for ensemble members), which is what makes ensembles
and peer review cheap.

Peer review ("Two Minds Better Than One: Collaborative Reward Modeling",
Zhang et al. 2025): two heads train side by side on the same fold; in every
batch each keeps its small-loss share and hands it to its peer, which trains
only on that share. The dropped share follows a curriculum that ramps from 0
to the estimated noise rate. The noise rate comes from ``estimate_noise_rate``:
an anchor-point estimate that fits ``P(label | margin) = rho + (1 - 2 rho)
sigmoid(a * margin)`` to the out-of-fold margins, whose ceiling ``1 - rho`` is
what the most confident pairs still disagree with.

Everything is seeded: the same inputs, config and seed give the same margins.
The torch side (the batched heads and their training loop) is ``heads``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from curate.noise import heads
from curate.noise.config import RMConfig


@dataclass(frozen=True)
class NoiseRate:
    """An estimated label-noise rate and the margin scale of the fit: P(label | m) = rate + (1 - 2 rate) sigmoid(scale * m)."""

    rate: float
    scale: float

    def flip_llr(self, margin: np.ndarray) -> np.ndarray:
        """Log-likelihood ratio (flipped : not) of each margin, without the prior: log s(-z) - log s(z) = -z."""
        return -self.scale * np.asarray(margin, dtype=np.float64)

    def flip_log_odds(self, margin: np.ndarray) -> np.ndarray:
        """Posterior log-odds that each pair's label is flipped, given its margin for the stated label."""
        rate = min(max(self.rate, 1e-4), 0.4999)
        return math.log(rate / (1 - rate)) + self.flip_llr(margin)  # log[rate * s(-z)] - log[(1-rate) * s(z)]

    def flip_probability(self, margin: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.flip_log_odds(margin)))


def features(prompt: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Per-response features ``[e(y), e(y) * e(x)]``: what the response says, and how it relates to the prompt."""
    prompt = np.asarray(prompt, dtype=np.float32)
    response = np.asarray(response, dtype=np.float32)
    return np.concatenate([response, response * prompt], axis=1)


def standardize(phi_c: np.ndarray, phi_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each feature by its std over all responses (centering cancels in a margin, and is kept for the hidden layer)."""
    both = np.concatenate([phi_c, phi_r])
    mean, std = both.mean(axis=0), both.std(axis=0) + 1e-6
    return ((phi_c - mean) / std).astype(np.float32), ((phi_r - mean) / std).astype(np.float32)


def fold_ids(n: int, folds: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """A fold per pair; pairs that share a group (prompt) share a fold, so no prompt leaks across folds."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.permutation(np.arange(n) % folds)
    uniques, inverse = np.unique(np.asarray(groups), return_inverse=True)
    return rng.permutation(np.arange(len(uniques)) % folds)[inverse]


def cross_fit(
    phi_c: np.ndarray,
    phi_r: np.ndarray,
    *,
    folds: np.ndarray,
    cfg: RMConfig,
    members: int = 1,
    weights: np.ndarray | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Out-of-fold margins, shape (pairs, members): member ``m`` of the heads trained without each pair's fold.

    ``weights`` (per pair, default 1) drop (0) or down-weight pairs in training; every pair is still scored.
    Members after the first train on bootstrap resamples when ``cfg.bootstrap`` (member 0 sees the data as given).
    """
    seed = cfg.seed if seed is None else seed
    n, k = len(phi_c), int(folds.max()) + 1
    base = _train_masks(folds, k, weights)  # (k, n)
    rng = np.random.default_rng(seed + 1)
    groups = []
    for fold in range(k):
        for member in range(members):
            w = base[fold].copy()
            if cfg.bootstrap and member > 0:
                w *= rng.poisson(1.0, size=n)
            groups.append(w)
    trained = heads.fit(phi_c, phi_r, np.stack(groups), cfg, seed=seed)
    margins = trained.margins(phi_c, phi_r).reshape(n, k, members)
    return margins[np.arange(n), folds]  # (n, members)


def cross_fit_variants(
    phi_c: np.ndarray, phi_r: np.ndarray, *, folds: np.ndarray, cfg: RMConfig, weights: np.ndarray, signs: np.ndarray, seed: int | None = None,
) -> np.ndarray:
    """Out-of-fold margins of V relabelings at once, shape (pairs, V), each oriented like ``phi_c``/``phi_r``.

    Variant v trains with per-pair ``weights[v]`` and labels ``signs[v]`` (-1: the pair's responses trade
    places), which is how cleaning by dropping or flipping is evaluated without one training run per variant.
    """
    seed = cfg.seed if seed is None else seed
    n, k = len(phi_c), int(folds.max()) + 1
    variants = len(weights)
    groups = np.stack([(folds != fold) * weights[v] for fold in range(k) for v in range(variants)])
    group_signs = np.stack([signs[v] for _ in range(k) for v in range(variants)])
    trained = heads.fit(phi_c, phi_r, groups, cfg, seed=seed, signs=group_signs)
    margins = trained.margins(phi_c, phi_r).reshape(n, k, variants)
    return margins[np.arange(n), folds]


def peer_review(
    phi_c: np.ndarray,
    phi_r: np.ndarray,
    *,
    folds: np.ndarray,
    cfg: RMConfig,
    noise_rate: float,
    weights: np.ndarray | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Out-of-fold margins of two peer heads per fold, shape (pairs, 2), trained by peer review.

    The peers train on disjoint halves of the fold's training pairs, so when one reviews the other's
    batch it judges pairs it has never trained on: its small-loss share of the peer's pairs is what the
    peer trains on. (Reviewing pairs one has fit already mostly confirms one's own errors.)
    """
    seed = cfg.seed if seed is None else seed
    n, k = len(phi_c), int(folds.max()) + 1
    base = _train_masks(folds, k, weights)
    rng = np.random.default_rng(seed + 2)
    groups = []
    for fold in range(k):
        half = rng.permutation(n) % 2  # each peer trains on its own half of the fold's training pairs
        groups += [base[fold] * (half == 0), base[fold] * (half == 1)]
    ratio = min(max(noise_rate, 0.0), cfg.peer_max_rate)
    peers = heads.fit(phi_c, phi_r, np.stack(groups), cfg, seed=seed + 3, peer_ratio=ratio).margins(phi_c, phi_r)  # (n, 2k)
    # The review: each training pair is ranked by the peer that never trained on it; the lowest `ratio`
    # share of each fold's training pairs is left out of the final heads, trained on the full rest.
    reviewed = []
    for fold in range(k):
        a, b = groups[2 * fold] > 0, groups[2 * fold + 1] > 0
        review = np.where(a, peers[:, 2 * fold + 1], np.where(b, peers[:, 2 * fold], np.inf))
        members = np.flatnonzero(a | b)
        dropped = members[np.argsort(review[members], kind="stable")[: int(ratio * len(members))]]
        keep = base[fold].copy()
        keep[dropped] = 0
        reviewed.append(keep)
    final = heads.fit(phi_c, phi_r, np.stack(reviewed), cfg, seed=seed + 4).margins(phi_c, phi_r)  # (n, k)
    rows = np.arange(n)
    return np.stack([final[rows, folds], peers[rows, 2 * folds], peers[rows, 2 * folds + 1]], axis=1)


def estimate_noise_rate(margins: np.ndarray) -> NoiseRate:
    """Fit ``P(stated label | m) = rho + (1 - 2 rho) sigmoid(a m)`` to out-of-fold margins.

    The margins are oriented by the stated label, the model is read as calibrated up to the scale
    ``a``, and the ceiling ``1 - rho`` is the agreement the most confident pairs reach (an anchor-point
    estimate). The likelihood in ``rho`` is flat and often two-humped on weak reward models, so the
    estimate is the posterior mean under a flat prior on [0, 0.49] (profiling out ``a``), not the argmax,
    which jumps between the humps from seed to seed. The data's own ambiguity counts as noise too, so
    compare estimates across injected rates by their difference.
    """
    m = np.asarray(margins, dtype=np.float64)
    spread = m.std() + 1e-12
    m = m / spread
    grid = np.linspace(0.0, 0.49, 50)
    fits = [_best_scale(m, rho) for rho in grid]
    nll = np.array([f[1] for f in fits])
    weight = np.exp(-(nll - nll.min()))
    rate = float((weight * grid).sum() / weight.sum())
    scale = fits[int(np.argmin(np.abs(grid - rate)))][0]
    return NoiseRate(rate=rate, scale=scale / spread)


def _best_scale(m: np.ndarray, rho: float) -> tuple[float, float]:
    lo, hi = math.log(0.05), math.log(50.0)
    golden = (math.sqrt(5) - 1) / 2
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = _ceiling_nll(m, rho, math.exp(a)), _ceiling_nll(m, rho, math.exp(b))
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = _ceiling_nll(m, rho, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = _ceiling_nll(m, rho, math.exp(b))
    x = (lo + hi) / 2
    return math.exp(x), _ceiling_nll(m, rho, math.exp(x))


def _ceiling_nll(m: np.ndarray, rho: float, scale: float) -> float:
    p = rho + (1 - 2 * rho) / (1 + np.exp(-scale * m))
    return float(-np.log(np.clip(p, 1e-12, 1)).sum())


def _train_masks(folds: np.ndarray, k: int, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones(len(folds)) if weights is None else np.asarray(weights, dtype=np.float64)
    return np.stack([(folds != fold) * w for fold in range(k)])
