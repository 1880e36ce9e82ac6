"""Adversarial negatives: a non-answer (a master key such as ":" or "Thought process:") as the rejected response
against the parent's real chosen answer.

Judges and reward models trained on judges reward such openers (Zhao et al., 2025); pairs that rank a real
answer above them teach the opposite. The keys are ``nonanswers.master_keys``: by default those in the parent's
language plus the symbol keys, so a pair reads as a plausible exchange. ``keys_per_pair`` keys per parent, a
seeded choice. No LLM and no check: a non-answer is worse than an answer by construction.
"""

from __future__ import annotations

from curate.augment import nonanswers
from curate.augment.candidates import Candidate, Parent, seeded
from curate.augment.config import AugmentConfig
from schemas.vocab import AugmentMethod, PairKind

SYMBOL = "symbol"
"""The language of the punctuation keys, which fit any prompt."""


def make(parents: list[Parent], cfg: AugmentConfig) -> list[Candidate]:
    out = []
    for parent in parents:
        for key in _keys(parent, cfg):
            candidate = Candidate(parent=parent, kind=PairKind.ADVERSARIAL, method=AugmentMethod.MASTER_KEY, attribute=key,
                                  maker=AugmentMethod.MASTER_KEY.value)
            candidate.made(chosen=parent.chosen, rejected=key, text=key)
            out.append(candidate)
    return out


def _keys(parent: Parent, cfg: AugmentConfig) -> list[str]:
    """The parent's ``keys_per_pair`` keys: the pool ranked by a seeded hash of parent and key."""
    languages = cfg.languages if cfg.languages is not None else None if cfg.keys else [parent.language, SYMBOL]
    pool = [k for k in nonanswers.master_keys(languages) if cfg.keys is None or k in cfg.keys]
    return sorted(pool, key=lambda k: seeded(cfg.seed, "key", parent.pair_id, k))[:cfg.keys_per_pair]
