"""The fused score's Dawid-Skene EM: it recovers known reliabilities, estimating them beats assuming 0.7, and human
verdicts as anchors improve the pairs nobody annotated."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from test_rm import FAST, _planted

from curate.noise import fusion
from curate.noise import methods as nm
from curate.noise.config import FusionConfig, NoiseConfig

PRIOR = {"prior_accuracy": 0.7, "prior_pairs": 20.0}
ENSEMBLE_ONLY = NoiseConfig(rm=FAST, fusion=FusionConfig(sources=["ensemble"]))  # no texts: no lexical view
VOTERS_ONLY = NoiseConfig(rm=FAST, fusion=FusionConfig(sources=["ensemble"], anchor_humans=False))  # humans as plain voters


def _annotated(n: int, rate: float, accuracies: dict[str, float], *, coverage: float, separation: float, seed: int):
    """Pairs whose label is wrong at ``rate``; a calibrated RM likelihood ratio; one-coin voters on a share of the pairs.

    The RM margin is N(+separation, 1) on right labels and N(-separation, 1) on wrong ones, so its exact
    log-likelihood ratio (wrong : right) is ``-2 * separation * margin``.
    """
    rng = np.random.default_rng(seed)
    wrong = rng.random(n) < rate
    margin = rng.normal(np.where(wrong, -separation, separation), 1.0)
    signals = {}
    for name, accuracy in accuracies.items():
        says_wrong = np.where(rng.random(n) < accuracy, wrong, ~wrong)
        vote = np.where(says_wrong, 1.0, -1.0)
        vote[rng.random(n) >= coverage] = np.nan
        signals[name] = vote
    return wrong, -2 * separation * margin, signals


def test_fusion_em_recovers_known_accuracies_and_the_flip_rate():
    truth = {"sharp": 0.85, "fair": 0.65, "random": 0.5}
    wrong, rm_llr, signals = _annotated(4000, 0.2, truth, coverage=0.7, separation=1.0, seed=0)
    fit = fusion.fit(rm_llr, signals, rate=0.1, **PRIOR)
    assert fit.iterations < 500  # it stopped on convergence, not on the cap
    for name, accuracy in truth.items():
        assert fit.accuracies[name] == pytest.approx(accuracy, abs=0.05), (name, fit.accuracies)
    assert fit.rate == pytest.approx(wrong.mean(), abs=0.03)
    assert fit.reliabilities == {"label": 1 - fit.rate, **fit.accuracies}


@pytest.mark.parametrize("judge_accuracy", [0.55, 0.9])
def test_fusion_estimated_reliability_beats_the_constant(judge_accuracy):
    """Ablation: with a judge far from 0.7, weighting it by its estimated accuracy ranks wrong labels better."""
    wrong, rm_llr, signals = _annotated(2000, 0.2, {"judge": judge_accuracy}, coverage=1.0, separation=0.7, seed=1)
    fit = fusion.fit(rm_llr, signals, rate=0.1, **PRIOR)
    constant = fusion.posterior_log_odds(rm_llr, signals, fit.rate, {"judge": 0.7})
    estimated_auc, constant_auc = roc_auc_score(wrong, fit.log_odds), roc_auc_score(wrong, constant)
    assert fit.accuracies["judge"] == pytest.approx(judge_accuracy, abs=0.03)
    assert estimated_auc > constant_auc + 0.01, (estimated_auc, constant_auc)


def test_fusion_judge_versions_as_separate_annotators_beat_one_pooled_judge():
    """Ablation: a sharp judge and a coin-flipping one, pooled into one signal, share one accuracy, and the
    coin drags the sharp one's weight down; as annotators of their own, each earns its own."""
    wrong, rm_llr, signals = _annotated(2000, 0.2, {"sharp": 0.9, "coin": 0.5}, coverage=1.0, separation=0.7, seed=3)
    pooled = {"judge": np.nanmean(np.stack([signals["sharp"], signals["coin"]]), axis=0)}
    separate = fusion.fit(rm_llr, signals, rate=0.1, **PRIOR)
    together = fusion.fit(rm_llr, pooled, rate=0.1, **PRIOR)
    assert separate.accuracies["sharp"] == pytest.approx(0.9, abs=0.03)
    assert separate.accuracies["coin"] == pytest.approx(0.5, abs=0.03)
    assert roc_auc_score(wrong, separate.log_odds) > roc_auc_score(wrong, together.log_odds) + 0.01


def test_noise_methods_fused_takes_each_judge_version_as_its_own_annotator():
    prompt, chosen, rejected, _ = _planted(n=150, rate=0.0)
    first, second = np.full(150, np.nan), np.full(150, np.nan)
    first[:3], second[:3] = 1.0, -1.0
    pooled = np.where(np.isfinite(first), (first + second) / 2, np.nan)
    inputs = nm.Inputs(prompt=prompt, chosen=chosen, rejected=rejected, classes=np.arange(150) % 2,
                       judge=pooled, judge_count=np.isfinite(pooled) * 2.0, judges={"judge a": first, "judge b": second})
    fused = nm.score_all(inputs, ENSEMBLE_ONLY, ("fused",))["fused"]
    assert set(fused.reliabilities) == {"label", "ensemble", "judge a", "judge b"}
    assert fused.reliabilities["judge b"] > fused.reliabilities["judge a"]  # b agrees with the clean labels
    np.testing.assert_allclose(fused.components["judge_llr"][:3],
                               fusion.vote_llr(first[:3], fused.reliabilities["judge a"])
                               + fusion.vote_llr(second[:3], fused.reliabilities["judge b"]))


def test_fusion_few_verdicts_stay_near_the_prior():
    """Three verdicts that all agree with the RM do not make a source near-certain."""
    wrong, rm_llr, _ = _annotated(1000, 0.2, {}, coverage=1.0, separation=1.5, seed=2)
    lucky = np.full(1000, np.nan)
    lucky[:3] = np.where(wrong[:3], 1.0, -1.0)
    fit = fusion.fit(rm_llr, {"lucky": lucky}, rate=0.1, **PRIOR)
    assert 0.7 <= fit.accuracies["lucky"] < 0.75


def test_noise_methods_fused_weighs_judge_and_human_evidence_by_estimated_reliability():
    prompt, chosen, rejected, _ = _planted(n=150, rate=0.0)
    judge, human = np.full(150, np.nan), np.full(150, np.nan)
    judge[0], judge[1] = 1.0, -1.0  # the judge disagrees with pair 0's label, agrees with pair 1's
    human[1] = 1.0  # a human disagrees with pair 1's label
    classes = np.arange(150) % 2
    base = nm.Inputs(prompt=prompt, chosen=chosen, rejected=rejected, classes=classes)
    with_evidence = nm.Inputs(prompt=prompt, chosen=chosen, rejected=rejected, classes=classes,
                              judge=judge, judge_count=np.isfinite(judge).astype(float),
                              human=human, human_count=np.isfinite(human).astype(float))
    plain = nm.score_all(base, ENSEMBLE_ONLY, ("fused",))["fused"]
    judged = nm.score_all(with_evidence, VOTERS_ONLY, ("fused", "judge"))
    fused = judged["fused"]
    assert fused.score[0] > plain.score[0]
    assert fused.components["judge_llr"][0] > 0 > fused.components["judge_llr"][1]
    assert fused.components["human_llr"][1] > 0 and fused.components["human_llr"][0] == 0
    # as plain voters, pairs without verdicts move only by the re-estimated prior: one shift of the log-odds for all
    shift = _logit(fused.score[2:]) - _logit(plain.score[2:])
    np.testing.assert_allclose(shift, shift[0], atol=1e-6)
    assert fused.anchors is None
    # as anchors, the human-verified pair also rescales the reward models' evidence on every other pair
    anchored = nm.score_all(with_evidence, ENSEMBLE_ONLY, ("fused",))["fused"]
    assert anchored.anchors == {"rm_scale": pytest.approx(anchored.anchors["rm_scale"]), "verified_pairs": 1, "audit_pairs": 0}
    rm = anchored.components["rm_log_odds"][2:]
    moved = _logit(anchored.score[2:])
    np.testing.assert_allclose(moved - moved[0], anchored.anchors["rm_scale"] * (rm - rm[0]), atol=1e-6)
    assert set(fused.reliabilities) == {"label", "ensemble", "judge", "human"}
    assert fused.reliabilities["label"] == pytest.approx(1 - fused.noise_rate)
    assert set(plain.reliabilities) == {"label", "ensemble"}
    assert judged["judge"].score[0] == 1.0 and judged["judge"].score[1] == 0.0 and judged["judge"].score[2] == 0.5


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _shortcut_world(seed: int, n: int = 3000, rate: float = 0.2, shortcut: float = 0.15):
    """Pairs whose label is wrong at ``rate``; a reward model that is confidently wrong on a ``shortcut`` share of them
    (a spurious feature: its calibration reads those as flips, so it overrates itself and the rate); a judge of
    accuracy 0.75 on every pair; and what an annotator of accuracy 0.9 would say on each."""
    rng = np.random.default_rng(seed)
    wrong = rng.random(n) < rate
    truth = np.abs(rng.normal(0, 1, n)) * np.where(wrong, -1, 1)  # how much better the stated chosen truly is
    margin = truth + 0.7 * rng.normal(0, 1, n)
    margin = np.where(rng.random(n) < shortcut, -np.abs(margin) * np.sign(truth), margin)
    judge = np.where(np.where(rng.random(n) < 0.75, wrong, ~wrong), 1.0, -1.0)
    says_wrong = np.where(rng.random(n) < 0.9, wrong, ~wrong)
    return rng, wrong, margin, judge, says_wrong


def _fused(margin, judge, human=None, audit=None, **fusion) -> nm.Scores:
    """``fuse`` over one reward-model source with ``margin`` as its evidence, the judge, and annotator ``ann``."""
    n, blank = len(margin), np.zeros((len(margin), 1))
    inputs = nm.Inputs(prompt=blank, chosen=blank, rejected=blank, classes=np.zeros(n, int), judge=judge, judges={"judge": judge},
                       human=human, humans=None if human is None else {"human:ann": human}, audit=audit)
    source = nm.Scores(score=np.zeros(n), strength=margin)
    return nm.fuse({"ensemble": source}, inputs, np.zeros(n, bool), FusionConfig(sources=["ensemble"], **fusion))


def test_fusion_human_anchors_improve_the_pairs_nobody_annotated():
    """Ablation: one human batch (150 audited pairs drawn uniformly, 150 routed as likely wrong) of 3000 pairs. As
    plain voters the verdicts move only the pairs they judged; as anchors (the audit's rate, the judge's accuracy on
    the audit, the reward model's scale on every verified pair) they rank and size the other 2700 pairs better."""
    metrics = {"without": [], "voters": [], "anchors": []}
    for seed in range(3):
        rng, wrong, margin, judge, says_wrong = _shortcut_world(seed)
        before = _fused(margin, judge)
        audit = np.zeros(len(wrong), bool)
        audit[rng.choice(len(wrong), 150, replace=False)] = True
        routed = [i for i in np.argsort(-before.score) if not audit[i]][:150]  # the routing's likely_wrong pairs
        seen = audit.copy()
        seen[routed] = True
        human = np.where(seen, np.where(says_wrong, 1.0, -1.0), np.nan)
        arms = {"without": before, "voters": _fused(margin, judge, human, audit, anchor_humans=False),
                "anchors": _fused(margin, judge, human, audit)}
        unseen = ~seen
        for arm, fused in arms.items():
            p, truth = fused.score[unseen], wrong[unseen]
            flagged = np.argsort(-p)[:round(fused.noise_rate * unseen.sum())]  # the release's share: the estimated rate
            metrics[arm].append((roc_auc_score(truth, p), truth[flagged].mean(), abs(fused.noise_rate - wrong.mean())))
        assert set(arms["anchors"].reliabilities) == {"label", "ensemble", "judge", "human:ann"}
        assert arms["anchors"].anchors["verified_pairs"] == 300 and arms["anchors"].anchors["audit_pairs"] == 150
    mean = {arm: np.mean(values, axis=0) for arm, values in metrics.items()}
    print({arm: dict(zip(("auroc", "precision", "rate_error"), np.round(m, 4))) for arm, m in mean.items()})
    for baseline in ("without", "voters"):
        assert mean["anchors"][0] > mean[baseline][0] + 0.01, mean  # AUROC on the unannotated pairs
        assert mean["anchors"][1] > mean[baseline][1] + 0.03, mean  # precision of the top estimated-rate share
        assert mean["anchors"][2] < mean[baseline][2], mean  # the estimated noise rate is nearer the truth


def test_fusion_anchors_leave_a_well_calibrated_reward_model_nearly_as_it_was():
    """Without a shortcut the reward model's calibration is right: the anchors must not cost much there."""
    rng, wrong, margin, judge, says_wrong = _shortcut_world(0, shortcut=0.0)
    audit = np.zeros(len(wrong), bool)
    audit[rng.choice(len(wrong), 150, replace=False)] = True
    human = np.where(audit, np.where(says_wrong, 1.0, -1.0), np.nan)
    unseen = ~audit
    voters, anchors = _fused(margin, judge, human, audit, anchor_humans=False), _fused(margin, judge, human, audit)
    assert roc_auc_score(wrong[unseen], anchors.score[unseen]) > roc_auc_score(wrong[unseen], voters.score[unseen]) - 0.005
    assert abs(anchors.noise_rate - wrong.mean()) < 0.03 and 0.7 < anchors.anchors["rm_scale"] < 1.5


def test_fusion_each_annotator_is_a_source_of_its_own():
    """Two annotators on the same pairs, one careful and one careless, earn their own accuracies (``human:<name>``)."""
    _, wrong, margin, judge, _ = _shortcut_world(5, shortcut=0.0)
    rng = np.random.default_rng(6)
    careful = np.where(np.where(rng.random(len(wrong)) < 0.95, wrong, ~wrong), 1.0, -1.0)
    careless = np.where(np.where(rng.random(len(wrong)) < 0.6, wrong, ~wrong), 1.0, -1.0)
    careful[400:] = careless[400:] = np.nan
    n, blank = len(wrong), np.zeros((len(wrong), 1))
    inputs = nm.Inputs(prompt=blank, chosen=blank, rejected=blank, classes=np.zeros(n, int), judges={"judge": judge},
                       human=np.where(np.isnan(careful), np.nan, (careful + careless) / 2), humans={"human:careful": careful, "human:careless": careless})
    fused = nm.fuse({"ensemble": nm.Scores(score=np.zeros(n), strength=margin)}, inputs, np.zeros(n, bool),
                    FusionConfig(sources=["ensemble"]))
    assert fused.reliabilities["human:careful"] == pytest.approx(0.95, abs=0.04)
    assert fused.reliabilities["human:careless"] == pytest.approx(0.6, abs=0.06)
    np.testing.assert_allclose(fused.components["human_llr"][:400], fusion.vote_llr(careful[:400], fused.reliabilities["human:careful"])
                               + fusion.vote_llr(careless[:400], fused.reliabilities["human:careless"]))
