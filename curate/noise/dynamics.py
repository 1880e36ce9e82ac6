"""Training dynamics of the reward heads: area under the margin and dataset cartography, per pair.

A head trained with mini-batches fits clean pairs early and steadily, and a wrong label late, slowly and
by memorizing it (Swayamdipta et al. 2020, "Dataset Cartography"; Pleiss et al. 2020, "Identifying
Mislabeled Data using the Area Under the Margin Ranking"; for preference data, arXiv 2505.23114). So a pair's
margin on its own label, *while it is trained on*, averaged over the epochs, separates wrong labels better
than the margin at the end, which memorization has pushed up for every training pair. Per pair:

- ``aum``: mean margin over the epochs (a Bradley-Terry margin is already "assigned logit minus the other");
- ``confidence`` / ``variability``: mean and std over the epochs of sigmoid(margin), the cartography axes;

each averaged over the heads the pair trains in: the K - 1 cross-fit folds that keep it, in two runs.

Threshold samples (Pleiss et al.): in each run a random share of pairs is trained on the reversed label, so
their AUM is what a *known wrong* label gets under these heads; the two runs use disjoint shares, so every
pair also has its own AUM from a run where it kept its label. In-sample AUM has no natural zero (memorizing
lifts every training pair), so ``score`` is centered at the midpoint of the threshold pairs' AUM with their
label and against it: above 0 a pair's AUM is nearer to what a wrong label gets. That centering is the
threshold mechanism; the ranking is the AUM's.

Every margin is on the pair's stated label. The loop is its own (heads.fit trains to the end and keeps no
trajectory), on the same batched ``heads.Heads``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.noise import heads
from curate.noise.config import RMConfig


@dataclass(frozen=True)
class Dynamics:
    """Per-pair training dynamics on the stated labels, averaged over the heads each pair trained in."""

    aum: np.ndarray  # (n,) mean margin over the epochs
    confidence: np.ndarray  # (n,) mean sigmoid(margin) over the epochs
    variability: np.ndarray  # (n,) std of sigmoid(margin) over the epochs
    trajectory: np.ndarray  # (n, epochs) mean margin at the end of each epoch
    threshold: float  # the AUM midway between the threshold pairs' own and reversed labels
    score: np.ndarray  # (n,) (threshold - aum) / spread of aum: higher = more likely wrong


def training_dynamics(
    phi_c: np.ndarray,
    phi_r: np.ndarray,
    *,
    folds: np.ndarray,
    cfg: RMConfig,
    weights: np.ndarray | None = None,
    seed: int | None = None,
) -> Dynamics:
    """Train 2 runs x K folds of heads with mini-batches, recording every training pair's margin each epoch.

    ``weights`` (per pair, default 1) drop (0) or down-weight pairs in training; a pair that never trains
    (a tie) gets the mean of its trajectory over the heads anyway, as it is scored by them every epoch.
    ``cfg`` gives the head (hidden width), learning rate, weight decay, and ``dynamics_epochs``,
    ``dynamics_batch_size`` and ``dynamics_threshold_share``.
    """
    epochs, batch_size, threshold_share = cfg.dynamics_epochs, cfg.dynamics_batch_size, cfg.dynamics_threshold_share
    seed = cfg.seed if seed is None else seed
    n, k = len(phi_c), int(folds.max()) + 1
    rng = np.random.default_rng(seed + 5)
    base = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    run_of = rng.permutation(n) % max(2, round(1 / max(threshold_share, 1e-9)))  # threshold pairs: run 0 if 0, run 1 if 1
    reversed_in = np.stack([run_of == run for run in (0, 1)])  # (2, n)
    train = np.stack([(folds != fold) * base for run in (0, 1) for fold in range(k)])  # (G, n)
    signs = np.stack([np.where(reversed_in[run], -1.0, 1.0) for run in (0, 1) for _ in range(k)])  # (G, n)
    margins = _trajectories(phi_c, phi_r, train, signs, cfg, seed, epochs, batch_size)  # (epochs, n, G), stated labels

    trained = train.T > 0  # (n, G)
    own = trained & (signs.T > 0)
    rev = trained & (signs.T < 0)
    prob = 1 / (1 + np.exp(-margins))
    aum_g, conf_g, var_g = margins.mean(axis=0), prob.mean(axis=0), prob.std(axis=0)  # (n, G)
    use = np.where(own.any(axis=1, keepdims=True), own, signs.T > 0)  # untrained pairs: every head that kept the label
    count = use.sum(axis=1)

    def over_heads(x: np.ndarray) -> np.ndarray:
        return (x * use).sum(axis=-1) / count

    aum = over_heads(aum_g)
    reversed_aum = (-aum_g * rev).sum(axis=1) / np.maximum(rev.sum(axis=1), 1)  # on the label they trained with
    probes = rev.any(axis=1)
    threshold = float((aum[probes].mean() + reversed_aum[probes].mean()) / 2) if probes.any() else 0.0
    return Dynamics(aum=aum, confidence=over_heads(conf_g), variability=over_heads(var_g),
                    trajectory=over_heads(margins).T, threshold=threshold,
                    score=(threshold - aum) / (aum.std() + 1e-12))


def _trajectories(phi_c: np.ndarray, phi_r: np.ndarray, train: np.ndarray, signs: np.ndarray, cfg: RMConfig,
                  seed: int, epochs: int, batch_size: int) -> np.ndarray:
    """Mini-batch Adam on G heads at once (``heads.fit``); every pair's margin under every head after each epoch, (epochs, n, G)."""
    recorded: list[np.ndarray] = []
    run = cfg.model_copy(update={"epochs": epochs, "batch_size": min(batch_size or len(phi_c), len(phi_c))})
    heads.fit(phi_c, phi_r, train, run, seed=seed, signs=signs, on_epoch=lambda trained: recorded.append(trained.margins(phi_c, phi_r)))
    return np.stack(recorded)
