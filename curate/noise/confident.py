"""Confident learning (Northcutt, Jiang and Chuang 2021) for pairwise labels, implemented here.

cleanlab is AGPL-3.0 and stays out of curate; the confident joint is short. A
preference label is a binary class once each pair has a canonical orientation
(its two responses in content-hash order): class 1 when the first response is
the chosen one. Out-of-fold reward margins give each pair ``P(class)``; the
per-class thresholds are the mean self-confidence of each class, the confident
joint counts pairs whose predicted class clears its threshold, and after
calibrating its rows to the class counts, its off-diagonal mass is the noise
rate. Pairs flagged as issues are the ``n * Q[i][j]`` of each label class with
the largest margin for the other class ("prune by noise rate").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfidentJoint:
    """The calibrated confident joint and what follows from it."""

    joint: np.ndarray  # (2, 2) estimated P(given label = i, true label = j)
    thresholds: np.ndarray  # (2,) per-class mean self-confidence
    noise_rate: float  # off-diagonal mass of the joint
    self_confidence: np.ndarray  # (n,) P(given label) per pair
    issues: np.ndarray  # (n,) bool: pruned by noise rate


def confident_joint(margins: np.ndarray, classes: np.ndarray) -> ConfidentJoint:
    """The confident joint from out-of-fold margins oriented by each pair's stated label.

    ``margins[i]`` is r(chosen) - r(rejected) for pair i; ``classes[i]`` is its stated class in the
    canonical orientation (1 when the chosen response comes first). Margins are read as logits.
    """
    margins = np.asarray(margins, dtype=np.float64)
    given = np.asarray(classes, dtype=np.int64)
    p_given = 1 / (1 + np.exp(-margins))
    probs = np.empty((len(margins), 2))  # probs[:, c] = P(class c)
    probs[np.arange(len(margins)), given] = p_given
    probs[np.arange(len(margins)), 1 - given] = 1 - p_given
    thresholds = np.array([probs[given == c, c].mean() if (given == c).any() else 0.5 for c in (0, 1)])

    above = probs >= thresholds  # (n, 2)
    confident = above.any(axis=1)
    true_class = np.where(above.all(axis=1), probs.argmax(axis=1), above.argmax(axis=1))
    counts = np.zeros((2, 2))
    np.add.at(counts, (given[confident], true_class[confident]), 1)
    label_counts = np.bincount(given, minlength=2).astype(np.float64)
    row_sums = counts.sum(axis=1, keepdims=True)
    calibrated = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0) * label_counts[:, None]
    joint = calibrated / max(calibrated.sum(), 1.0)
    noise_rate = float(joint[0, 1] + joint[1, 0])

    issues = np.zeros(len(margins), dtype=bool)
    for c in (0, 1):
        members = np.flatnonzero(given == c)
        prune = int(round(joint[c, 1 - c] * len(margins)))
        if prune and len(members):
            other_margin = probs[members, 1 - c] - probs[members, c]
            issues[members[np.argsort(-other_margin, kind="stable")[:prune]]] = True
    return ConfidentJoint(joint=joint, thresholds=thresholds, noise_rate=noise_rate, self_confidence=p_given, issues=issues)


def canonical_classes(chosen_hashes: list[str], rejected_hashes: list[str]) -> np.ndarray:
    """Class 1 when the chosen response's content hash sorts first: an orientation that ignores the label."""
    return np.array([c < r for c, r in zip(chosen_hashes, rejected_hashes)], dtype=np.int64)
