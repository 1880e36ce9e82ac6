"""CRM peer review on two views (``rm.peer_review``, ``heads.fit_peers``) and the lexical view it pairs with the embeddings."""

from __future__ import annotations

import time

import numpy as np
import pytest

from curate.noise import heads, lexical, rm

CFG = rm.RMConfig(weight_decay=0.1)


def _auroc(truth: np.ndarray, score: np.ndarray) -> float:
    pos, neg = score[truth], score[~truth]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def _biased_views(n: int = 400, seed: int = 0, rate: float = 0.3):
    """Two views of a true reward ``u.z`` (noisy projections of z) with 30% flipped labels, each flip explained by
    an annotator bias that only one view sees: on half of the flips one coordinate of view A strongly favors the
    (wrongly) stated chosen response, on the other half one of view B. A head can fit its own view's biased
    flips, so judged by its own loss it keeps them; its peer, blind to that bias, finds them hard and drops them."""
    rng = np.random.default_rng(seed)
    z, u = rng.normal(size=(2, n, 8)), rng.normal(size=8)
    flip = np.zeros(n, bool)
    flipped = rng.choice(n, int(rate * n), replace=False)
    flip[flipped] = True
    biased_in = np.full(n, -1)
    biased_in[flipped] = np.arange(len(flipped)) % 2
    first_chosen = (z[0] @ u > z[1] @ u) ^ flip
    views = []
    for v, dim in enumerate((16, 24)):
        x = z @ (rng.normal(size=(8, dim)) / np.sqrt(8)) + 0.3 * rng.normal(size=(2, n, dim))
        chosen, rejected = np.where(first_chosen[:, None], x[0], x[1]), np.where(first_chosen[:, None], x[1], x[0])
        bias_c, bias_r = rng.normal(size=(2, n))
        mine = biased_in == v
        bias_c[mine], bias_r[mine] = np.abs(bias_c[mine]) + 1.5, -np.abs(bias_r[mine]) - 1.5
        views.append(rm.standardize(np.column_stack([chosen, bias_c]).astype(np.float32),
                                    np.column_stack([rejected, bias_r]).astype(np.float32)))
    return views, flip


def _texts(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    vocab = np.array("the a cat dog sorry help how why you i can't what is it bad good plan".split())
    say = lambda k: " ".join(rng.choice(vocab, size=k))  # noqa: E731
    prompts = [say(rng.integers(3, 12)) + "?" for _ in range(n)]
    chosen = [say(rng.integers(1, 30)) for _ in range(n)]
    rejected = [say(rng.integers(0, 30)) + ("?" if i % 3 else " I'm sorry, but I can't help with that.") for i in range(n)]
    return prompts, chosen, rejected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_peer_exchange_finds_the_biased_flips_that_self_review_keeps(seed):
    """The ablation: the same heads on the same curriculum, with and without the exchange, and plain training."""
    (view_a, view_b), flip = _biased_views(seed=seed)
    folds = rm.fold_ids(len(flip), 5, seed)

    def detection(noise_rate: float, exchange: bool) -> float:
        margins = rm.peer_review(view_a, view_b, folds=folds, cfg=CFG, noise_rate=noise_rate, exchange=exchange, seed=seed)
        return _auroc(flip, -(margins / margins.std(axis=0)).mean(axis=1))

    crm, self_review, plain = detection(0.3, True), detection(0.3, False), detection(0.0, True)
    assert crm > self_review + 0.03  # 0.056 or more over seeds 0-5
    assert crm > plain + 0.08  # 0.156 or more over seeds 0-5
    assert crm > 0.8


@pytest.mark.parametrize("hidden", [0, 4])
def test_peer_swapping_every_pair_negates_both_peers_margins(hidden):
    """Both views' preprocessing is symmetric in the two sides and the heads' output weights start at 0, so the
    run on every pair swapped is the mirror image of the run as given: each originally chosen response scores
    against its rival with the opposite sign, by the same amount, in both peers (exactly for linear heads; the
    tanh layer's float rounding drifts a little)."""
    prompts, chosen, rejected = _texts(120)
    raw_c, raw_r = np.random.default_rng(0).normal(size=(2, 120, 12)).astype(np.float32)
    lex = lexical.features(prompts, chosen, rejected)
    lex_swapped = lexical.features(prompts, rejected, chosen)
    np.testing.assert_array_equal(lex_swapped[0], lex[1])
    np.testing.assert_array_equal(lex_swapped[1], lex[0])
    folds = rm.fold_ids(120, 5, 0)
    cfg = CFG.model_copy(update={"hidden": hidden, "peer_epochs": 10})
    forward = rm.peer_review(rm.standardize(raw_c, raw_r), lex, folds=folds, cfg=cfg, noise_rate=0.2)
    swapped = rm.peer_review(rm.standardize(raw_r, raw_c), lex_swapped, folds=folds, cfg=cfg, noise_rate=0.2)
    original_chosen_after_swap = -swapped  # the swapped run's margin is r'(rejected) - r'(chosen)
    tolerance = 0 if hidden == 0 else 1e-4 * np.abs(forward).max()
    np.testing.assert_allclose(original_chosen_after_swap, -forward, rtol=0, atol=tolerance)
    assert (np.abs(forward) > 1e-3).mean() > 0.9  # the peers did learn margins


def test_peer_same_seed_same_margins():
    (view_a, view_b), flip = _biased_views(n=150)
    folds = rm.fold_ids(150, 5, 0)
    cfg = CFG.model_copy(update={"peer_epochs": 10})
    first = rm.peer_review(view_a, view_b, folds=folds, cfg=cfg, noise_rate=0.3)
    np.testing.assert_array_equal(first, rm.peer_review(view_a, view_b, folds=folds, cfg=cfg, noise_rate=0.3))
    assert first.shape == (150, 2)
    assert not np.array_equal(first, rm.peer_review(view_a, view_b, folds=folds, cfg=cfg, noise_rate=0.3, seed=1))


def test_peer_margins_are_out_of_fold():
    """A pair's own fold's heads never see it (it is in no batch's kept share there), so relabeling it negates
    exactly its own margins and leaves the rest of its fold untouched."""
    (view_a, view_b), _ = _biased_views(n=150)
    folds = rm.fold_ids(150, 5, 0)
    cfg = CFG.model_copy(update={"peer_epochs": 10})
    before = rm.peer_review(view_a, view_b, folds=folds, cfg=cfg, noise_rate=0.3)
    swap = lambda view: (np.where(np.arange(150)[:, None] == 0, view[1], view[0]), np.where(np.arange(150)[:, None] == 0, view[0], view[1]))  # noqa: E731
    after = rm.peer_review(swap(view_a), swap(view_b), folds=folds, cfg=cfg, noise_rate=0.3)
    np.testing.assert_allclose(after[0], -before[0], atol=1e-6)
    same_fold = folds == folds[0]
    np.testing.assert_allclose(after[same_fold][1:], before[same_fold][1:], atol=1e-6)
    assert not np.allclose(after[~same_fold], before[~same_fold])  # the other folds' heads did train on it


def test_peer_small_loss_share_keeps_the_easiest_members():
    import torch

    losses = torch.tensor([[0.1, 5.0, 0.2, 3.0, 0.3]])
    weights = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0]])
    keep = heads.small_loss_share(losses, weights, ratio=0.5)
    assert keep.tolist() == [[1.0, 0.0, 1.0, 0.0, 0.0]]


def test_lexical_features_shape_dtype_and_meaning():
    prompts = ["how do i bake bread?", "tell me a joke", "what is two plus two?"]
    chosen = ["to bake bread, mix flour and water, then bake", "why did the cat sit? to rest", ""]
    rejected = ["I'm sorry, but I can't help with that. I cannot assist.", "no", "four? four? maybe four?"]
    phi_c, phi_r = lexical.features(prompts, chosen, rejected)
    width = lexical.BUCKETS + len(lexical.DENSE)
    assert phi_c.shape == phi_r.shape == (3, width)
    assert phi_c.dtype == phi_r.dtype == np.float32
    assert np.isfinite(phi_c).all() and np.isfinite(phi_r).all()
    dense = dict(zip(lexical.DENSE, np.concatenate([phi_c, phi_r])[:, lexical.BUCKETS:].T))
    assert dense["prompt_overlap"][0] > dense["prompt_overlap"][3]  # "bake bread" repeats the prompt
    assert dense["log_refusals"][3] == dense["log_refusals"].max() > dense["log_refusals"][0]
    assert dense["log_questions"][5] == dense["log_questions"].max()
    assert dense["log_chars"][2] == dense["log_chars"].min()  # the empty response
    bag = np.concatenate([phi_c, phi_r])[:, :lexical.BUCKETS]
    norms = np.linalg.norm(bag, axis=1)
    assert norms[2] == 0 and np.allclose(norms[norms > 0], norms[norms > 0][0])  # one scale for every response
    again = lexical.features(prompts, chosen, rejected)
    np.testing.assert_array_equal(again[0], phi_c)  # a stable hash: the same buckets in every process


def test_lexical_features_are_fast():
    prompts, chosen, rejected = _texts(2300)
    start = time.perf_counter()
    lexical.features(prompts, chosen, rejected)
    assert time.perf_counter() - start < 2.0
