"""The cross-encoder scorer fine-tunes the real packaged MiniLM, offline, on a tiny synthetic preference.

Chosen answers are on topic, rejected ones are the same curt refusal. Two folds, short sequences and
one epoch keep each fine-tune here to seconds on one thread.
"""

from __future__ import annotations

import numpy as np
import pytest

from curate.noise import cross

CFG = cross.CrossConfig(epochs=1, lr=2e-4, batch_size=4, max_length=64, threads=1, seed=0)
REFUSAL = "I can't help with that."
TOPICS = ["bread", "tomatoes", "a bicycle", "a resume", "a garden", "a tent", "soup", "a bookshelf",
          "a kite", "pancakes", "a budget", "a fence", "coffee", "a sweater", "a birdhouse", "tea",
          "a website", "a chess opening", "a sourdough starter", "a vegetable curry"]


def _pairs() -> tuple[list[str], list[str], list[str], np.ndarray]:
    prompts, answers = [], []
    for topic in TOPICS:
        prompts += [f"How do I make {topic}?", f"Any tips for getting started with {topic}?"]
        answers += [f"Sure! To make {topic}, gather what you need, follow the steps in order and take your time.",
                    f"Happy to help: start small with {topic}, learn the basics first, then practice a little every day."]
    folds = np.arange(len(prompts)) % 2
    return prompts, answers, [REFUSAL] * len(prompts), folds


@pytest.fixture(scope="module")
def fitted() -> tuple[tuple, np.ndarray]:
    prompts, chosen, rejected, folds = _pairs()
    return (prompts, chosen, rejected, folds), cross.cross_fit_margins(prompts, chosen, rejected, folds=folds, cfg=CFG)


def test_cross_learns_the_easy_preference_out_of_fold(fitted):
    (_, _, _, folds), margins = fitted
    assert margins.shape == (len(folds),) and np.isfinite(margins).all()
    assert (margins > 0).mean() >= 0.9


def test_cross_is_deterministic_for_a_seed():
    prompts, chosen, rejected, folds = (x[:8] for x in _pairs())
    first, again = (cross.cross_fit_margins(prompts, chosen, rejected, folds=folds, cfg=CFG) for _ in range(2))
    np.testing.assert_array_equal(again, first)
    other = cross.cross_fit_margins(prompts, chosen, rejected, folds=folds, cfg=CFG.model_copy(update={"seed": 1}))
    assert not np.array_equal(other, first)


def test_cross_swapping_pairs_negates_their_margins_and_teaches_the_other_fold(fitted):
    """Swapping fold 0's pairs leaves the model that scores them (trained on fold 1) as it was, so their
    margins negate exactly; the model that scores fold 1 now trains on the swapped labels and learns the
    opposite preference, which shows the margins come from the labels, not from a lucky random head."""
    (prompts, chosen, rejected, folds), margins = fitted
    swap = folds == 0
    c = [r if s else x for x, r, s in zip(chosen, rejected, swap)]
    r = [x if s else y for x, y, s in zip(chosen, rejected, swap)]
    after = cross.cross_fit_margins(prompts, c, r, folds=folds, cfg=CFG)
    np.testing.assert_array_equal(after[swap], -margins[swap])
    assert (after[~swap] < 0).mean() >= 0.9


def test_cross_leaves_zero_weight_pairs_out_of_training():
    prompts, chosen, rejected, folds = _pairs()
    with pytest.raises(ValueError, match="no training pairs"):
        cross.cross_fit_margins(prompts, chosen, rejected, folds=folds, cfg=CFG, weights=(folds == 0).astype(float))


def test_cross_config_rejects_unknown_fields():
    with pytest.raises(ValueError):
        cross.CrossConfig(epoch=2)
