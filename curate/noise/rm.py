"""Embedding reward models: cross-fitted Bradley-Terry heads, ensembles, CRM peer review, noise rate.

A reward head scores a response ``y`` to a prompt ``x`` from fixed sentence
embeddings, over the features ``[e(y), e(y) * e(x)]`` (standardized). A pair's
margin is ``r(x, chosen) - r(x, rejected)`` and the Bradley-Terry loss is
``softplus(-margin)``. Heads are tiny (linear, or one small tanh layer) and
trained with Adam, full-batch (or with large batches; peer review uses small
ones), so a whole cross-fit of many heads takes seconds on two cores.

Every pair's margin is *out of fold*: the data is split into K folds (pairs
with the same prompt stay together) and a pair is scored only by heads that
never saw it. Many heads train at once as one batched model (one group per
fold and member), each with its own per-pair training weights (0 for held-out
pairs, bootstrap counts for ensemble members), which is what makes ensembles
and peer review cheap.

Peer review is CRM ("Two Minds Better Than One: Collaborative Reward Modeling for
LLM Alignment", Zhang et al. 2025, arXiv 2505.10597) on two feature views that can
disagree: these embedding features, and the raw-text view of ``lexical``. Per fold
one head per view; the two train at the same time on the same mini-batches, and in
each batch each ranks the pairs by its own loss and hands its small-loss share to
its peer, which trains only on that share. The dropped share follows an
easy-to-hard curriculum from 0 up to the estimated noise rate. The output is the
two peers' own out-of-fold margins. The noise rate that caps the curriculum is
the ensemble's, from ``calibrate``: the anchor of the agreement curve of its
out-of-fold margins.

Everything is seeded: the same inputs, config and seed give the same margins.
The torch side (the batched heads and their training loop) is ``heads``.
"""

from __future__ import annotations


import numpy as np

from curate.noise import heads
from curate.noise.config import RMConfig


def features(prompt: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Per-response features ``[e(y), e(y) * e(x)]``: what the response says, and how it relates to the prompt."""
    prompt = np.asarray(prompt, dtype=np.float32)
    response = np.asarray(response, dtype=np.float32)
    return np.concatenate([response, response * prompt], axis=1)


def standardize(phi_c: np.ndarray, phi_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each feature by its std over all responses (centering cancels in a margin, and is kept for the hidden layer)."""
    mean = (phi_c.mean(axis=0) + phi_r.mean(axis=0)) / 2  # symmetric in the two sides, so exactly swap-invariant
    std = np.sqrt((((phi_c - mean) ** 2).mean(axis=0) + ((phi_r - mean) ** 2).mean(axis=0)) / 2) + 1e-6
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
    view_a: tuple[np.ndarray, np.ndarray],
    view_b: tuple[np.ndarray, np.ndarray],
    *,
    folds: np.ndarray,
    cfg: RMConfig,
    noise_rate: float,
    weights: np.ndarray | None = None,
    seed: int | None = None,
    exchange: bool = True,
) -> np.ndarray:
    """Out-of-fold margins of the two CRM peers, shape (pairs, 2): column 0 read from ``view_a``, column 1 from ``view_b``.

    Each view is a per-response feature pair ``(phi_chosen, phi_rejected)``; the views may differ in width. Per
    fold, one head per view trains on the fold's training pairs (``weights``, default 1, scale or drop them), both
    at once on the same mini-batches of ``cfg.peer_batch_size``, each on the small-loss share its peer keeps
    (``heads.fit_peers``). The dropped share ramps linearly from 0 to ``noise_rate`` (capped at
    ``cfg.peer_max_rate``) over the first ``cfg.peer_ramp`` of the steps; the learning rate decays on a cosine.
    ``exchange=False`` is the ablation in which each head trains on its own small-loss share.

    Where this departs from the paper, and why: the paper's peers are two LLM reward models fine-tuned on the
    same text; here they are tiny heads on fixed features, and two heads on one feature set converge to nearly
    the same model and have little to review, so each peer reads its own view. Small loss and large reward
    margin rank a batch identically (the loss is ``softplus(-margin)``), so selecting by either is the same.
    The drop ratio's ceiling is the noise rate estimated from the data rather than a known corruption rate, and
    its linear ramp (co-teaching's schedule) is this module's reading of the paper's easy-to-hard curriculum.
    Every pair is scored out of fold, which the paper (evaluating on held-out benchmarks) does not need. The
    cosine decay is ours: without it the small-batch Adam steps never settle on heads this small.
    """
    seed = cfg.seed if seed is None else seed
    n, k = len(folds), int(folds.max()) + 1
    ratio = min(max(noise_rate, 0.0), cfg.peer_max_rate)
    peers = heads.fit_peers((view_a, view_b), _train_masks(folds, k, weights), cfg, seed=seed + 2, ratio=ratio, exchange=exchange)
    rows = np.arange(n)
    return np.stack([trained.margins(*view)[rows, folds] for trained, view in zip(peers, (view_a, view_b))], axis=1)


def _train_masks(folds: np.ndarray, k: int, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones(len(folds)) if weights is None else np.asarray(weights, dtype=np.float64)
    return np.stack([(folds != fold) * w for fold in range(k)])
