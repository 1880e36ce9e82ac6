"""The noise-scoring methods on arrays: embeddings, texts and optional evidence in, one score per pair and method out.

Kept apart from the stage (``curate.noise``) so the benchmarks run exactly the same code on relabeled
copies of the data. Every score is "higher = more likely mislabeled"; the reward-model scores are
calibrated out-of-fold probabilities that the stated label is wrong (``calibrate``), so they compare
across methods and a threshold such as 0.5 means the same thing everywhere.

- ``bt``: one cross-fitted Bradley-Terry head.
- ``ensemble``: M bootstrap heads per fold ("Secrets of RLHF, Part II"); the mean margin, with the std over
  members kept as a component (the ``noise_summary`` view's "ambiguous" class).
- ``peer``: CRM peer review (``rm.peer_review``) on the embedding view and the lexical view (``lexical``);
  the two peers' margins, each in units of its spread, averaged. Its curriculum's ceiling is the ensemble's rate.
- ``dynamics``: area under the margin over the training epochs, against threshold pairs (``dynamics``).
- ``confident``: confident learning over the ensemble's calibrated probabilities; its score is how far a
  pair's probability for the other class clears that class's threshold, and its issue set is a component.
- ``cross``: a fine-tuned cross-encoder per fold (``cross``); opt-in, slow on a CPU.
- ``judge`` / ``human``: share of position-consistent judge verdicts (of human verdicts) against the label.
- ``fused``: P(wrong | all evidence) from a Dawid-Skene EM (``fuse``): the stated label, each judge version
  and each human annotator are annotators with estimated accuracies, and the reward-model sources named in
  ``fusion.sources`` are one annotator, combined by their estimated reliability and calibrated together.
  Human verdicts also anchor the EM (``fusion.Anchors``). The estimated rate, reliabilities and weights come
  with the scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from curate.noise import confident as cl
from curate.noise import calibrate, cross, dynamics, lexical, rm
from curate.noise import fusion as fu
from curate.noise.config import FusionConfig, NoiseConfig
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
    human: np.ndarray | None = None  # the humans' verdicts pooled (method ``human``)
    human_count: np.ndarray | None = None
    humans: dict[str, np.ndarray] | None = None  # the same signal per annotator ("human:<name>"), each its own annotator in fused
    audit: np.ndarray | None = None  # per pair: a human verdict answered it as part of the uniform audit sample (fusion anchors)
    texts: tuple[list[str], list[str], list[str]] | None = None  # prompt, chosen and rejected texts (lexical view, cross-encoder)


@dataclass
class Scores:
    """One method's output: a score per pair, per-pair components, and per-member margins when it has them."""

    score: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)
    margins: np.ndarray | None = None  # (n, members) out-of-fold margins
    folds: np.ndarray | None = None
    noise_rate: float | None = None
    reliabilities: dict[str, float] | None = None  # per run: each annotator's estimated accuracy (``fused``)
    weights: dict[str, float] | None = None  # per run: each reward-model source's share of the fused evidence (``fused``)
    strength: np.ndarray | None = None  # the source's evidence FOR the stated label (higher = more likely right): what fusion reads
    anchors: dict[str, float] | None = None  # per run: what the human anchors did to the EM (``fused``): scale, pairs


def score_all(inputs: Inputs, cfg: NoiseConfig, methods: tuple[str, ...] | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Scores]:
    """Scores of ``methods`` (default ``cfg.methods``) and of what they depend on; only the requested ones are returned."""
    methods = tuple(cfg.methods) if methods is None else tuple(methods)
    say = progress or (lambda step: None)
    wanted = set(methods)
    if NoiseMethod.FUSED in wanted:
        wanted |= set(cfg.fusion.sources)
    if {NoiseMethod.PEER, NoiseMethod.CONFIDENT} & wanted:
        wanted.add(NoiseMethod.ENSEMBLE)  # its noise-rate estimate sets the peers' curriculum; its margins feed CL
    rm_cfg = cfg.rm
    n = len(inputs.prompt)
    view = rm.standardize(rm.features(inputs.prompt, inputs.chosen), rm.features(inputs.prompt, inputs.rejected))
    folds = rm.fold_ids(n, rm_cfg.folds, rm_cfg.seed, inputs.groups)
    tie = np.zeros(n, bool) if inputs.tie is None else np.asarray(inputs.tie, bool)
    weights = (~tie).astype(np.float64)
    out: dict[str, Scores] = {}

    if {NoiseMethod.BT, NoiseMethod.ENSEMBLE} & wanted:
        say("reward heads: cross-fit ensemble")
        members = max(rm_cfg.members, 2) if NoiseMethod.ENSEMBLE in wanted else 1
        margins = rm.cross_fit(*view, folds=folds, cfg=rm_cfg, members=members, weights=weights)
        if NoiseMethod.BT in wanted:
            out[NoiseMethod.BT] = _margin_scores(margins[:, :1], tie, folds)
        if NoiseMethod.ENSEMBLE in wanted:
            out[NoiseMethod.ENSEMBLE] = _ensemble_scores(margins, tie, folds)
    if NoiseMethod.CONFIDENT in wanted:
        out[NoiseMethod.CONFIDENT] = _confident_scores(out[NoiseMethod.ENSEMBLE], inputs.classes, tie)
    if NoiseMethod.DYNAMICS in wanted:
        say("reward heads: training dynamics")
        out[NoiseMethod.DYNAMICS] = _dynamics_scores(dynamics.training_dynamics(*view, folds=folds, cfg=rm_cfg, weights=weights), tie)
    if NoiseMethod.PEER in wanted:
        say("peer review: embedding and lexical views")
        rate = out[NoiseMethod.ENSEMBLE].noise_rate
        peers = rm.peer_review(view, lexical.features(*_texts(inputs)), folds=folds, cfg=rm_cfg, noise_rate=rate, weights=weights)
        out[NoiseMethod.PEER] = _margin_scores(peers, tie, folds)
        out[NoiseMethod.PEER].components["drop_ratio"] = np.full(n, min(rate, rm_cfg.peer_max_rate))
    if NoiseMethod.CROSS in wanted:
        say("cross-encoder: fine-tuning per fold")
        margin = cross.cross_fit_margins(*_texts(inputs), folds=folds, cfg=cfg.cross, weights=weights, progress=say)
        out[NoiseMethod.CROSS] = _margin_scores(margin[:, None], tie, folds)
    if NoiseMethod.JUDGE in wanted and inputs.judge is not None:
        out[NoiseMethod.JUDGE] = _evidence_scores(inputs.judge, inputs.judge_count)
    if NoiseMethod.HUMAN in wanted and inputs.human is not None:
        out[NoiseMethod.HUMAN] = _evidence_scores(inputs.human, inputs.human_count)
    if NoiseMethod.FUSED in wanted:
        say("fusing the evidence")
        out[NoiseMethod.FUSED] = fuse({name: out[name] for name in cfg.fusion.sources}, inputs, tie, cfg.fusion)
    return {name: scores for name, scores in out.items() if name in methods}


def _texts(inputs: Inputs) -> tuple[list[str], list[str], list[str]]:
    if inputs.texts is None:
        raise ValueError("the lexical view and the cross-encoder read the texts: Inputs.texts is missing")
    return inputs.texts


def _oriented(margin: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Margins as evidence for the stated label; a tie is contradicted by a margin of either sign."""
    return np.where(tie, -np.abs(margin), margin)


def _calibrated(strength: np.ndarray, tie: np.ndarray) -> calibrate.Calibration:
    """The calibration of one source's evidence for the stated label, fitted on the pairs with a preference."""
    return calibrate.fit(strength[~tie] if (~tie).any() else strength)


def _from_strength(strength: np.ndarray, tie: np.ndarray, components: dict, **extra) -> Scores:
    """A source's scores: its calibrated P(label wrong | its evidence), the rate of that fit, the evidence itself."""
    fit = _calibrated(strength, tie)
    return Scores(score=fit.p_wrong(strength), components=components, noise_rate=fit.rate, strength=strength, **extra)


def _margin_scores(margins: np.ndarray, tie: np.ndarray, folds: np.ndarray) -> Scores:
    components = {"margin": margins.mean(axis=1)}
    if margins.shape[1] > 1:
        components.update({f"margin_{i}": margins[:, i] for i in range(margins.shape[1])})
    strength = _oriented(_standardized(margins).mean(axis=1), tie)
    return _from_strength(strength, tie, components, margins=margins, folds=folds)


def _ensemble_scores(margins: np.ndarray, tie: np.ndarray, folds: np.ndarray) -> Scores:
    mean, std = margins.mean(axis=1), margins.std(axis=1)
    components = {"mean": mean, "std": std, "mean_z": mean / (mean.std() + 1e-12)}
    return _from_strength(_oriented(mean, tie), tie, components, margins=margins, folds=folds)


def _dynamics_scores(dyn: dynamics.Dynamics, tie: np.ndarray) -> Scores:
    components = {"aum": dyn.aum, "confidence": dyn.confidence, "variability": dyn.variability}
    return _from_strength(_oriented(-dyn.score, tie), tie, components)


def _confident_scores(ensemble: Scores, classes: np.ndarray, tie: np.ndarray) -> Scores:
    """Confident learning over the ensemble's calibrated out-of-fold probabilities of the stated label."""
    p_right = 1 - ensemble.score
    joint = cl.confident_joint(p_right[~tie], np.asarray(classes)[~tie]) if (~tie).any() else None
    issues = np.zeros(len(p_right), bool)
    if joint is not None:
        issues[~tie] = joint.issues
    score = np.zeros(len(p_right))
    if joint is not None:
        score[~tie] = joint.score
    components = {"self_confidence": p_right, "issue": issues}
    rate = joint.noise_rate if joint is not None else 0.0
    return Scores(score=score, components=components, noise_rate=rate, strength=-score)


def _standardized(margins: np.ndarray) -> np.ndarray:
    return margins / (margins.std(axis=0, keepdims=True) + 1e-12)


def _evidence_scores(signal: np.ndarray, count: np.ndarray | None) -> Scores:
    """Share of verdicts against the label ((1 + mean sign) / 2); 0.5 (no evidence) when there are none."""
    signal = np.asarray(signal, dtype=np.float64)
    present = ~np.isnan(signal)
    score = np.where(present, (1 + np.nan_to_num(signal)) / 2, 0.5)
    count = np.zeros(len(signal)) if count is None else np.asarray(count)
    return Scores(score=score, components={"against": np.nan_to_num(signal), "verdicts": count})


def fuse(sources: dict[str, Scores], inputs: Inputs, tie: np.ndarray, fusion: FusionConfig) -> Scores:
    """P(label wrong | all evidence) by a Dawid-Skene EM (``fusion``) over the label, the RMs, the judges and the humans.

    The reward-model sources (``fusion.sources``: each a view or a way of training heads on one) are one
    annotator together: each source's evidence for the label, in units of its spread, weighted by how far its
    own calibration moves the log-odds (a source that cannot tell right from wrong labels gets no weight),
    then calibrated as one. They are combined before calibrating, not multiplied as independent likelihoods,
    because heads on the same embeddings make the same mistakes. The EM then estimates the noise rate and
    each judge version's and each annotator's accuracy from the data: a strong judge and a weak one each earn
    their own weight (judge versions and annotators are annotators of their own, ``inputs.judges`` and
    ``inputs.humans``). With ``fusion.anchor_humans`` the human verdicts also anchor the rate, the judges'
    accuracies and the reward models' scale (``fusion.Anchors``), so they move the pairs nobody looked at too.
    """
    unit = {name: s.strength / (s.strength[~tie].std() + 1e-12) for name, s in sources.items()}
    own = {name: _calibrated(u, tie) for name, u in unit.items()}
    weight = {name: float(np.std(own[name].llr(u))) for name, u in unit.items()}
    total = sum(weight.values()) or 1.0
    combined = sum(weight[name] * u for name, u in unit.items()) / total
    rm_fit = _calibrated(combined, tie)
    judges = _present(inputs.judges or {NoiseMethod.JUDGE.value: inputs.judge})
    humans = _present(inputs.humans or {NoiseMethod.HUMAN.value: inputs.human})
    anchors = fu.Anchors(sources=tuple(humans), audit=inputs.audit, prior_pairs=fusion.audit_prior_pairs) \
        if fusion.anchor_humans and humans else None
    fit = fu.fit(rm_fit.llr(combined), judges | humans, rate=rm_fit.rate, anchors=anchors,
                 prior_accuracy=fusion.prior_accuracy, prior_pairs=fusion.prior_pairs)
    components = {"rm_log_odds": rm_fit.log_odds(combined)}
    for kind, group in ((NoiseMethod.JUDGE, judges), (NoiseMethod.HUMAN, humans)):
        if group:  # one component per kind: the judge versions' (the annotators') log-likelihood ratios summed
            components[f"{kind}_llr"] = sum(fu.vote_llr(signal, fit.accuracies[n]) for n, signal in group.items())
    reliabilities = {**fit.reliabilities, **{name: _sign_accuracy(own[name], u) for name, u in unit.items()}}
    used = {"rm_scale": fit.rm_scale, "verified_pairs": fit.verified, "audit_pairs": fit.audited} if anchors else None
    return Scores(score=fit.probability, components=components, noise_rate=fit.rate, reliabilities=reliabilities,
                  weights={name: w / total for name, w in weight.items()}, anchors=used)


def _present(signals: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    """The verdict sources that voted on some pair, as float arrays."""
    return {name: np.asarray(signal, dtype=np.float64) for name, signal in signals.items()
            if signal is not None and not np.isnan(np.asarray(signal, dtype=np.float64)).all()}


def _sign_accuracy(fit: calibrate.Calibration, strength: np.ndarray) -> float:
    """How often a source's sign agrees with the true label, by its own calibration: its reliability as an annotator."""
    wrong = fit.p_wrong(strength)
    return float(np.where(strength < 0, wrong, 1 - wrong).mean())
