"""Reliability-weighted fusion of noise evidence: a Dawid-Skene EM (Dawid and Skene 1979) over the pairs.

Every signal is an annotator of one latent bit per pair, "the stated label is wrong":

- the source's own label always says "right"; its accuracy ``1 - rate`` is the noise rate seen from the
  other side, and enters as the prior ``P(wrong) = rate``;
- each verdict source (a judge, the humans) votes "wrong" or "right" on the pairs it saw, with one
  accuracy per source (a one-coin model: as likely to miss a wrong label as to accuse a right one);
- the reward models enter through their likelihood ratio ``P(margin | wrong) / P(margin | right)``, a
  soft, per-pair likelihood read off their calibrated flip probability, not as a vote.

EM alternates the posterior ``P(wrong | all evidence)`` per pair (E) with the rate and the accuracies that
best explain it (M), so a judge that agrees with the pairs the rest of the evidence trusts earns weight and
one that votes at random earns none, instead of every judge counting as 70% accurate. A source's verdicts on
one pair (samples, attributes, both orders) come from one model and fail together, so they count as one soft
vote: the share of them against the label. Accuracies get a Beta prior worth ``prior_pairs`` pairs, so a
source with a handful of verdicts stays near the prior instead of reaching certainty from a lucky streak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LABEL = "label"
"""The name of the source's own label among the reliabilities."""

_RATE_BOUNDS = (1e-4, 0.4999)  # the stated label stays better than a coin: that is what orients the latent bit
_ACCURACY_BOUNDS = (1e-3, 1 - 1e-3)  # a source is never taken as certain, even with no prior


@dataclass(frozen=True)
class Fusion:
    """What the EM found: the noise rate, each source's accuracy, and the posterior log-odds per pair."""

    rate: float
    accuracies: dict[str, float]  # per verdict source: P(its vote is right)
    log_odds: np.ndarray  # per pair: log P(wrong | evidence) - log P(right | evidence)
    iterations: int

    @property
    def probability(self) -> np.ndarray:
        return 1 / (1 + np.exp(-self.log_odds))

    @property
    def reliabilities(self) -> dict[str, float]:
        """Every annotator's estimated accuracy, the label's own (``1 - rate``) included."""
        return {LABEL: 1 - self.rate, **self.accuracies}


def vote_llr(signal: np.ndarray, accuracy: float) -> np.ndarray:
    """A source's log-likelihood ratio (wrong : right) per pair; 0 where it gave no verdict.

    ``signal`` is the mean of +1 (against the label) and -1 (for it) over the source's verdicts on the pair,
    NaN without any. As one soft vote with share ``(1 + s) / 2`` against, its ratio is ``s * logit(accuracy)``.
    """
    return np.nan_to_num(np.asarray(signal, dtype=np.float64)) * _logit(accuracy)


def posterior_log_odds(rm_llr: np.ndarray, signals: dict[str, np.ndarray], rate: float, accuracies: dict[str, float]) -> np.ndarray:
    """The E-step: log-odds that each pair's label is wrong, given the prior rate, the RM and every vote."""
    log_odds = _logit(rate) + np.asarray(rm_llr, dtype=np.float64)
    for name, signal in signals.items():
        log_odds = log_odds + vote_llr(signal, accuracies[name])
    return log_odds


def fit(
    rm_llr: np.ndarray,
    signals: dict[str, np.ndarray],
    *,
    rate: float,
    prior_accuracy: float,
    prior_pairs: float,
    tol: float = 1e-6,
    max_iter: int = 500,
) -> Fusion:
    """Estimate the noise rate and every source's accuracy by EM, starting from ``rate`` and the prior.

    ``rm_llr`` is the reward models' log-likelihood ratio per pair, ``signals`` each verdict source's mean
    vote against the label (NaN where it has none). Stops when no parameter moves by more than ``tol``.
    """
    signals = {name: np.asarray(s, dtype=np.float64) for name, s in signals.items()}
    rate = _clip(rate, _RATE_BOUNDS)
    accuracies = {name: prior_accuracy for name in signals}
    for iteration in range(1, max_iter + 1):
        wrong = 1 / (1 + np.exp(-posterior_log_odds(rm_llr, signals, rate, accuracies)))
        new_rate = _clip(float(wrong.mean()), _RATE_BOUNDS)
        new = {name: _accuracy(signal, wrong, prior_accuracy, prior_pairs) for name, signal in signals.items()}
        moved = max([abs(new_rate - rate), *(abs(new[n] - accuracies[n]) for n in signals)])
        rate, accuracies = new_rate, new
        if moved < tol:
            break
    return Fusion(rate=rate, accuracies=accuracies, log_odds=posterior_log_odds(rm_llr, signals, rate, accuracies), iterations=iteration)


def _accuracy(signal: np.ndarray, wrong: np.ndarray, prior_accuracy: float, prior_pairs: float) -> float:
    """The M-step for one source: its expected share of right votes over the pairs it saw, plus the prior's pseudo-pairs."""
    seen = ~np.isnan(signal)
    against = (1 + signal[seen]) / 2
    agreed = against * wrong[seen] + (1 - against) * (1 - wrong[seen])
    return _clip((agreed.sum() + prior_pairs * prior_accuracy) / (seen.sum() + prior_pairs), _ACCURACY_BOUNDS)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _clip(value: float, bounds: tuple[float, float]) -> float:
    return float(min(max(value, bounds[0]), bounds[1]))
