"""Confident learning (Northcutt, Jiang and Chuang 2021) for pairwise labels, implemented here.

cleanlab is AGPL-3.0 and stays out of curate; the confident joint is short. A preference label is a
binary class once each pair has a canonical orientation (its two responses in content-hash order): class 1
when the first response is the chosen one. The input is each pair's *calibrated* out-of-fold probability
that its stated label is right (``calibrate``), turned into ``P(class)``; the per-class threshold ``t_j``
is the mean ``P(j)`` over the pairs labeled ``j``; a pair counts towards "true class j" when ``P(j) > t_j``
(the larger ``P - t`` when both clear); the joint's rows are calibrated to the class counts and its
off-diagonal mass is the noise rate. The issues are the ``n * Q[i][j]`` pairs of each label class with the
largest ``P(j) - P(i)`` ("prune by noise rate").

Calibrated probabilities are what make this work on weak heads: read as logits, a 62%-accurate head's
margins put every pair near 1/2, every threshold at about 0.52, and a third of clean pairs "confidently"
in the other class. Calibrated, a pair counts against its label only when its P(wrong) reaches the mean
P(right) of its class.

What it adds over the margin: within one class its ranking *is* the calibrated margin's, so as a per-pair
score it is no new evidence. It adds a count and a cut: the rate is counted from the pairs that clear
their class's threshold (not read off the anchor of the agreement curve), the pruned set is sized by that
count per class, and the thresholds are per class, so a head that is more confident on one orientation
does not prune that orientation more. ``score`` is ``P(other class) - t_other``: above 0, the pair is
counted against its label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfidentJoint:
    """The calibrated confident joint and what follows from it."""

    joint: np.ndarray  # (2, 2) estimated P(given label = i, true label = j)
    thresholds: np.ndarray  # (2,) per class: mean P(class) over the pairs labeled with it
    noise_rate: float  # off-diagonal mass of the joint
    self_confidence: np.ndarray  # (n,) P(given label) per pair
    score: np.ndarray  # (n,) P(other class) - its threshold: > 0 is counted against the label
    issues: np.ndarray  # (n,) bool: pruned by noise rate


def confident_joint(p_right: np.ndarray, classes: np.ndarray) -> ConfidentJoint:
    """The confident joint from calibrated out-of-fold ``P(stated label right)`` and the stated canonical classes.

    ``classes[i]`` is pair i's stated class in the canonical orientation (1 when the chosen response comes first).
    """
    p_right = np.clip(np.asarray(p_right, dtype=np.float64), 0.0, 1.0)
    given = np.asarray(classes, dtype=np.int64)
    n, rows = len(p_right), np.arange(len(p_right))
    probs = np.empty((n, 2))  # probs[:, c] = P(true class c)
    probs[rows, given] = p_right
    probs[rows, 1 - given] = 1 - p_right
    thresholds = np.array([probs[given == c, c].mean() if (given == c).any() else 0.5 for c in (0, 1)])

    above = probs > thresholds  # (n, 2); strict, so margins that say nothing (every P = 1/2) count nowhere
    confident = above.any(axis=1)
    true_class = np.where(above.all(axis=1), (probs - thresholds).argmax(axis=1), above.argmax(axis=1))
    counts = np.zeros((2, 2))
    np.add.at(counts, (given[confident], true_class[confident]), 1)
    label_counts = np.bincount(given, minlength=2).astype(np.float64)
    row_sums = counts.sum(axis=1, keepdims=True)
    calibrated = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0) * label_counts[:, None]
    joint = calibrated / max(calibrated.sum(), 1.0)

    issues = np.zeros(n, dtype=bool)
    for c in (0, 1):
        members = np.flatnonzero(given == c)
        prune = int(round(joint[c, 1 - c] * n))
        if prune and len(members):
            issues[members[np.argsort(probs[members, c] - probs[members, 1 - c], kind="stable")[:prune]]] = True
    score = probs[rows, 1 - given] - thresholds[1 - given]
    return ConfidentJoint(joint=joint, thresholds=thresholds, noise_rate=float(joint[0, 1] + joint[1, 0]),
                          self_confidence=p_right, score=score, issues=issues)


def canonical_classes(chosen_hashes: list[str], rejected_hashes: list[str]) -> np.ndarray:
    """Class 1 when the chosen response's content hash sorts first: an orientation that ignores the label."""
    return np.array([c < r for c, r in zip(chosen_hashes, rejected_hashes)], dtype=np.int64)
