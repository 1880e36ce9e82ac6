"""Reliability-weighted fusion of noise evidence: a Dawid-Skene EM (Dawid and Skene 1979) over the pairs.

Every signal is an annotator of one latent bit per pair, "the stated label is wrong":

- the source's own label always says "right"; its accuracy ``1 - rate`` is the noise rate seen from the
  other side, and enters as the prior ``P(wrong) = rate``;
- each verdict source (a judge version, a human annotator) votes "wrong" or "right" on the pairs it saw, with
  one accuracy per source (a one-coin model: as likely to miss a wrong label as to accuse a right one);
- the reward models enter through their likelihood ratio ``P(margin | wrong) / P(margin | right)``, a
  soft, per-pair likelihood read off their calibrated flip probability, not as a vote.

EM alternates the posterior ``P(wrong | all evidence)`` per pair (E) with the rate and the accuracies that
best explain it (M), so a judge that agrees with the pairs the rest of the evidence trusts earns weight and
one that votes at random earns none, instead of every judge counting as 70% accurate. A source's verdicts on
one pair (samples, attributes, both orders) come from one model and fail together, so they count as one soft
vote: the share of them against the label. Accuracies get a Beta prior worth ``prior_pairs`` pairs, so a
source with a handful of verdicts stays near the prior instead of reaching certainty from a lucky streak.

Human anchors (``Anchors``). The plain EM trusts the reward models' calibration on every pair nobody looked
at, and that calibration has a known bias: a head's own confident mistakes (a shortcut feature) read as
flipped labels, so the rate comes out high and the margins count for more than they are worth; a judge
then looks worse than it is, because it disagrees with the head's mistakes. Human verdicts on a few pairs
carry the information to correct that for all pairs, but as plain voters they only move the pairs they
saw. As anchors they enter three M-steps:

- the rate: the audit sample is a uniform random draw, so its mean posterior (which rests on people there)
  estimates the rate without the models' bias; it is shrunk towards the all-pairs mean, which counts as
  ``Anchors.prior_pairs`` audited pairs (its error is a bias, which more pairs do not shrink);
- the judges' accuracies, the same way, from their votes on the audit sample. Only the audit: the other
  human-verified pairs were routed to people *because* of the judge and the score, so a judge's agreement
  with them is not its accuracy;
- the reward models' scale: the RM's log-likelihood ratio is multiplied by a scale fitted on every
  human-verified pair, by the likelihood of their posteriors (which hold the human votes) under the
  log-odds without the human votes (a noisy-label logistic regression). Routing selects pairs by the
  machine evidence, which this conditions on, so the routed pairs count here. Its prior is 1, worth
  ``prior_pairs`` pairs.

The annotators' own accuracies are estimated as any source's. The scale, the rate and the judges'
accuracies then move every pair's posterior: one human batch re-weighs the evidence of all the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LABEL = "label"
"""The name of the source's own label among the reliabilities."""

_RATE_BOUNDS = (1e-4, 0.4999)  # the stated label stays better than a coin: that is what orients the latent bit
_ACCURACY_BOUNDS = (1e-3, 1 - 1e-3)  # a source is never taken as certain, even with no prior
_SCALE_BOUNDS = (0.0, 4.0)  # the RM's evidence is never reversed, and never made more than four times as strong


@dataclass(frozen=True)
class Anchors:
    """Which sources are people, and which pairs are the uniform audit sample: what anchors the EM (module doc)."""

    sources: tuple[str, ...]  # the anchor sources among the signals: one per human annotator
    audit: np.ndarray | None = None  # per pair: answered as part of the uniform audit sample
    prior_pairs: float = 100.0  # what the rate and a judge's accuracy from every pair are worth, in audited pairs
    rm_scale: bool = True  # fit the scale of the RM's log-likelihood ratio on the human-verified pairs


@dataclass(frozen=True)
class Fusion:
    """What the EM found: the noise rate, each source's accuracy, and the posterior log-odds per pair."""

    rate: float
    accuracies: dict[str, float]  # per verdict source: P(its vote is right)
    log_odds: np.ndarray  # per pair: log P(wrong | evidence) - log P(right | evidence)
    iterations: int
    rm_scale: float = 1.0  # what the RM's log-likelihood ratio was multiplied by (fitted on human-verified pairs)
    verified: int = 0  # pairs with a verdict of an anchor source
    audited: int = 0  # of them, pairs in the uniform audit sample

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
    anchors: Anchors | None = None,
    tol: float = 1e-6,
    max_iter: int = 500,
) -> Fusion:
    """Estimate the noise rate and every source's accuracy by EM, starting from ``rate`` and the prior.

    ``rm_llr`` is the reward models' log-likelihood ratio per pair, ``signals`` each verdict source's mean
    vote against the label (NaN where it has none). With ``anchors``, the human sources anchor the fit
    (see ``Anchors``); without, every source is a plain voter. Stops when no parameter moves by more than ``tol``.
    """
    signals = {name: np.asarray(s, dtype=np.float64) for name, s in signals.items()}
    rm_llr = np.asarray(rm_llr, dtype=np.float64)
    people = {n: s for n, s in signals.items() if anchors is not None and n in anchors.sources}
    machines = {n: s for n, s in signals.items() if n not in people}
    verified = np.zeros(len(rm_llr), bool)
    for signal in people.values():
        verified |= ~np.isnan(signal)
    audit = verified & (np.asarray(anchors.audit, bool) if anchors is not None and anchors.audit is not None else False)
    audit_weight = anchors.prior_pairs if anchors is not None else 0.0
    fit_scale = anchors is not None and anchors.rm_scale and bool(verified.any())
    rate, scale = _clip(rate, _RATE_BOUNDS), 1.0
    accuracies = {name: prior_accuracy for name in signals}
    for iteration in range(1, max_iter + 1):
        machine = _logit(rate) + scale * rm_llr + _votes_llr(machines, accuracies)  # the log-odds without the people
        wrong = 1 / (1 + np.exp(-(machine + _votes_llr(people, accuracies))))
        new_rate = _clip(_audited(float(wrong.mean()), wrong[audit], audit_weight), _RATE_BOUNDS)
        new = {}
        for name, signal in signals.items():
            new[name] = _accuracy(signal, wrong, prior_accuracy, prior_pairs)
            if name in machines:
                seen = audit & ~np.isnan(signal)
                new[name] = _clip(_audited(new[name], _agreed(signal[seen], wrong[seen]), audit_weight), _ACCURACY_BOUNDS)
        new_scale = _scale_step(scale, rm_llr[verified], machine[verified], wrong[verified], prior_pairs) if fit_scale else scale
        moved = max([abs(new_rate - rate), abs(new_scale - scale), *(abs(new[n] - accuracies[n]) for n in signals)])
        rate, accuracies, scale = new_rate, new, new_scale
        if moved < tol:
            break
    log_odds = posterior_log_odds(scale * rm_llr, signals, rate, accuracies)
    return Fusion(rate=rate, accuracies=accuracies, log_odds=log_odds, iterations=iteration, rm_scale=scale,
                  verified=int(verified.sum()), audited=int(audit.sum()))


def _votes_llr(signals: dict[str, np.ndarray], accuracies: dict[str, float]) -> np.ndarray | float:
    return sum((vote_llr(s, accuracies[n]) for n, s in signals.items()), 0.0)


def _scale_step(scale: float, llr: np.ndarray, machine: np.ndarray, wrong: np.ndarray, prior_pairs: float) -> float:
    """One Newton step on the RM's scale: the log-likelihood of the verified pairs' posteriors (which hold the human
    votes) under the machine-only log-odds (which do not), with a Gaussian prior at 1 worth ``prior_pairs`` pairs."""
    p = 1 / (1 + np.exp(-machine))
    curvature = p * (1 - p) * llr**2
    precision = prior_pairs * float(curvature.mean())
    gradient = float(((wrong - p) * llr).sum()) - precision * (scale - 1)
    hessian = float(curvature.sum()) + precision
    return _clip(scale + gradient / max(hessian, 1e-12), _SCALE_BOUNDS)


def _accuracy(signal: np.ndarray, wrong: np.ndarray, prior_accuracy: float, prior_pairs: float) -> float:
    """The M-step for one source: its expected share of right votes over the pairs it saw, plus the prior's pseudo-pairs."""
    seen = ~np.isnan(signal)
    return _clip((_agreed(signal[seen], wrong[seen]).sum() + prior_pairs * prior_accuracy) / (seen.sum() + prior_pairs),
                 _ACCURACY_BOUNDS)


def _agreed(signal: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """Per pair: the expected share of a source's votes that are right, given P(wrong)."""
    against = (1 + signal) / 2
    return against * wrong + (1 - against) * (1 - wrong)


def _audited(everywhere: float, on_audit: np.ndarray, prior_pairs: float) -> float:
    """The mean of ``on_audit`` (per audited pair) with the estimate from every pair as ``prior_pairs`` pseudo-pairs."""
    return float((on_audit.sum() + prior_pairs * everywhere) / (len(on_audit) + prior_pairs)) if len(on_audit) else everywhere


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _clip(value: float, bounds: tuple[float, float]) -> float:
    return float(min(max(value, bounds[0]), bounds[1]))
