"""The noise-scoring methods on arrays: embeddings and optional evidence in, one score per pair and method out.

Kept apart from the stage (``curate.noise``) so the benchmark runs exactly the
same code on relabeled copies of the data. Every score is "higher = more
likely mislabeled"; the reward-model scores are posterior probabilities that
the stated label is flipped, so they compare across methods and thresholds
such as 0.5 mean the same thing everywhere.

- ``bt``: one cross-fitted Bradley-Terry head; P(flip | its out-of-fold margin).
- ``ensemble``: M bootstrap heads per fold ("Secrets of RLHF, Part II"); P(flip) from the mean margin,
  with the std over members kept as a component (the ``noise_summary`` view's "ambiguous" class).
- ``confident``: confident learning over the ``bt`` margins; 1 - self-confidence, and the pruned set.
- ``peer``: dual-RM peer review (``rm.peer_review``); the reviewed head's and both peers' margins,
  averaged, as P(flip). Its drop ratio is the noise rate estimated from the ``bt`` margins.
- ``judge`` / ``human``: share of position-consistent judge verdicts (of human verdicts) against the label.
- ``fused``: P(flip | all evidence) from a Dawid-Skene EM (``fusion``): the stated label, each judge version
  (judge x template x attribute x settings) and the humans are annotators whose accuracies (the label's is 1 - the noise rate) are estimated from the data, and
  the reward models (ensemble and peer combined) enter as a per-pair likelihood ratio. The estimated rate and
  reliabilities come with the scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from curate.noise import confident as cl
from curate.noise import fusion as fu
from curate.noise import rm
from curate.noise.config import METHODS, FusionConfig
from schemas.vocab import NoiseMethod

@dataclass
class Inputs:
    """What the methods read, rows aligned. Only the embeddings are required."""

    prompt: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray
    classes: np.ndarray  # canonical class of the stated label (confident learning)
    groups: np.ndarray | None = None  # prompt ids: pairs of one prompt share a fold
    tie: np.ndarray | None = None  # ties are scored but not trained on
    judge: np.ndarray | None = None  # per pair: mean of +1 (against the label) / -1 (for it) / 0, NaN when none
    judge_count: np.ndarray | None = None
    judges: dict[str, np.ndarray] | None = None  # the same signal per judge version, each its own annotator in fused
    human: np.ndarray | None = None
    human_count: np.ndarray | None = None


@dataclass
class Scores:
    """One method's output: a score per pair, per-pair components, and per-member margins when it has them."""

    score: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)
    margins: np.ndarray | None = None  # (n, members) out-of-fold margins
    folds: np.ndarray | None = None
    noise_rate: float | None = None
    reliabilities: dict[str, float] | None = None  # per run: each annotator's estimated accuracy (``fused``)


def score_all(inputs: Inputs, rm_cfg: rm.RMConfig, fusion: FusionConfig, methods: tuple[str, ...] = METHODS) -> dict[str, Scores]:
    """Scores of the requested methods (and of what they depend on; only the requested ones are returned)."""
    wanted = set(methods)
    if NoiseMethod.FUSED in wanted:
        wanted |= {NoiseMethod.ENSEMBLE, NoiseMethod.PEER}
    if {NoiseMethod.PEER, NoiseMethod.CONFIDENT} & wanted:
        wanted.add(NoiseMethod.BT)  # its noise-rate estimate sets the peers' drop ratio
    n = len(inputs.prompt)
    phi_c, phi_r = rm.standardize(rm.features(inputs.prompt, inputs.chosen), rm.features(inputs.prompt, inputs.rejected))
    folds = rm.fold_ids(n, rm_cfg.folds, rm_cfg.seed, inputs.groups)
    tie = np.zeros(n, bool) if inputs.tie is None else np.asarray(inputs.tie, bool)
    weights = (~tie).astype(np.float64)
    out: dict[str, Scores] = {}

    if {NoiseMethod.BT, NoiseMethod.ENSEMBLE} & wanted:
        members = max(rm_cfg.members, 2) if NoiseMethod.ENSEMBLE in wanted else 1
        margins = rm.cross_fit(phi_c, phi_r, folds=folds, cfg=rm_cfg, members=members, weights=weights)
        if NoiseMethod.BT in wanted:
            out[NoiseMethod.BT] = _margin_scores(margins[:, :1], tie, folds)
        if NoiseMethod.ENSEMBLE in wanted:
            out[NoiseMethod.ENSEMBLE] = _ensemble_scores(margins, tie, folds)
    if NoiseMethod.CONFIDENT in wanted:
        out[NoiseMethod.CONFIDENT] = _confident_scores(out[NoiseMethod.BT], inputs.classes, tie)
    if NoiseMethod.PEER in wanted:
        rate = out[NoiseMethod.BT].noise_rate
        peers = rm.peer_review(phi_c, phi_r, folds=folds, cfg=rm_cfg, noise_rate=rate, weights=weights)
        out[NoiseMethod.PEER] = _margin_scores(peers, tie, folds)
        out[NoiseMethod.PEER].components["drop_ratio"] = np.full(n, min(rate, rm_cfg.peer_max_rate))
    if NoiseMethod.JUDGE in wanted and inputs.judge is not None:
        out[NoiseMethod.JUDGE] = _evidence_scores(inputs.judge, inputs.judge_count)
    if NoiseMethod.HUMAN in wanted and inputs.human is not None:
        out[NoiseMethod.HUMAN] = _evidence_scores(inputs.human, inputs.human_count)
    if NoiseMethod.FUSED in wanted:
        out[NoiseMethod.FUSED] = _fused(out, inputs, tie, fusion)
    return {name: scores for name, scores in out.items() if name in methods}


def _oriented(margin: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Margins as evidence for the stated label; a tie is contradicted by a margin of either sign."""
    return np.where(tie, -np.abs(margin), margin)


def _margin_scores(margins: np.ndarray, tie: np.ndarray, folds: np.ndarray) -> Scores:
    mean = _oriented(margins.mean(axis=1), tie)
    fit = rm.estimate_noise_rate(mean[~tie] if (~tie).any() else mean)
    components = {"margin": margins.mean(axis=1)}
    if margins.shape[1] > 1:
        components.update({f"margin_{i}": margins[:, i] for i in range(margins.shape[1])})
    return Scores(score=fit.flip_probability(mean), components=components, margins=margins, folds=folds, noise_rate=fit.rate)


def _ensemble_scores(margins: np.ndarray, tie: np.ndarray, folds: np.ndarray) -> Scores:
    mean, std = margins.mean(axis=1), margins.std(axis=1)
    strength = _oriented(mean, tie)
    fit = rm.estimate_noise_rate(strength[~tie] if (~tie).any() else strength)
    components = {"mean": mean, "std": std, "mean_z": mean / (mean.std() + 1e-12)}
    return Scores(score=fit.flip_probability(strength), components=components, margins=margins, folds=folds, noise_rate=fit.rate)


def _confident_scores(bt: Scores, classes: np.ndarray, tie: np.ndarray) -> Scores:
    margin = _oriented(bt.margins[:, 0], tie)
    joint = cl.confident_joint(margin[~tie], np.asarray(classes)[~tie]) if (~tie).any() else None
    issues = np.zeros(len(margin), bool)
    if joint is not None:
        issues[~tie] = joint.issues
    self_confidence = 1 / (1 + np.exp(-margin))
    components = {"self_confidence": self_confidence, "issue": issues}
    rate = joint.noise_rate if joint is not None else 0.0
    return Scores(score=1 - self_confidence, components=components, noise_rate=rate)


def _evidence_scores(signal: np.ndarray, count: np.ndarray | None) -> Scores:
    """Share of verdicts against the label ((1 + mean sign) / 2); 0.5 (no evidence) when there are none."""
    signal = np.asarray(signal, dtype=np.float64)
    present = ~np.isnan(signal)
    score = np.where(present, (1 + np.nan_to_num(signal)) / 2, 0.5)
    count = np.zeros(len(signal)) if count is None else np.asarray(count)
    return Scores(score=score, components={"against": np.nan_to_num(signal), "verdicts": count})


def _fused(out: dict[str, Scores], inputs: Inputs, tie: np.ndarray, fusion: FusionConfig) -> Scores:
    """P(label wrong | all evidence) by a Dawid-Skene EM (``fusion``) over the label, the RMs, the judges and the humans.

    The RM evidence is the ensemble and peer strengths combined, as the likelihood ratio of its noise-rate
    fit; the EM then estimates the noise rate and each judge version's and the humans' accuracies from the
    data, so the scores, the rate and the reliabilities all come from one fit. Judge versions are annotators
    of their own (``inputs.judges``): a strong judge and a weak one each earn their own weight.
    """
    ens, peer = out[NoiseMethod.ENSEMBLE], out[NoiseMethod.PEER]
    peer_mean = _oriented(peer.margins.mean(axis=1), tie)
    ens_mean = _oriented(ens.components["mean"], tie)
    combined = ens_mean / (ens_mean.std() + 1e-12) + peer_mean / (peer_mean.std() + 1e-12)
    rm_fit = rm.estimate_noise_rate(combined[~tie] if (~tie).any() else combined)
    judges = inputs.judges or {NoiseMethod.JUDGE.value: inputs.judge}
    signals = {name: np.asarray(signal, dtype=np.float64)
               for name, signal in (*judges.items(), (NoiseMethod.HUMAN.value, inputs.human))
               if signal is not None and not np.isnan(signal).all()}
    fit = fu.fit(rm_fit.flip_llr(combined), signals, rate=rm_fit.rate,
                 prior_accuracy=fusion.prior_accuracy, prior_pairs=fusion.prior_pairs)
    components = {"rm_log_odds": rm_fit.flip_log_odds(combined)}
    for kind, names in ((NoiseMethod.JUDGE, [n for n in signals if n in judges]), (NoiseMethod.HUMAN, [n for n in signals if n not in judges])):
        if names:  # one component per kind: the judge versions' log-likelihood ratios summed
            components[f"{kind}_llr"] = sum(fu.vote_llr(signals[n], fit.accuracies[n]) for n in names)
    return Scores(score=fit.probability, components=components, noise_rate=fit.rate, reliabilities=fit.reliabilities)
