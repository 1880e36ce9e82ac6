"""Causal augmentations (Crome): the parent's chosen response with exactly one causal attribute degraded.

The new pair keeps the original chosen response as chosen and the degraded one as rejected, tagged with the
attribute (factuality, relevance, completeness, instruction following, safety), so a reward model learns
that attribute, not the style around it. ``llm``: the generator rewrites the response with one flaw and
nothing else changed (``templates/augment_causal.md``); the judge must then prefer the original in both
orders. ``rules``: ``rewrites.causal_degrade``, deterministic, for the attributes a rule exists for.
"""

from __future__ import annotations

from curate.augment import prompts, rewriter, rewrites
from curate.augment.candidates import Candidate, Parent
from curate.augment.config import AugmentConfig
from curate.augment.rewriter import Job
from schemas.vocab import AugmentMethod, PairKind

CHOSEN = "chosen"


def llm(parents: list[Parent], cfg: AugmentConfig) -> list[Job]:
    """One rewrite job per parent and attribute."""
    return [job for attribute in cfg.selected_attributes()
            for job in rewriter.jobs(parents, cfg.generator, prompts.load(prompts.CAUSAL, attribute), kind=PairKind.CAUSAL,
                                     side=CHOSEN)]


def rules(parents: list[Parent], cfg: AugmentConfig) -> list[Candidate]:
    """The rule-made degradations: one per parent and attribute that has a rule applying to the response."""
    out = []
    for attribute in cfg.selected_attributes():
        for parent in parents:
            degraded = rewrites.causal_degrade(parent.chosen, attribute, key=f"{cfg.seed}:{parent.pair_id}")
            if degraded is None:
                continue
            candidate = Candidate(parent=parent, kind=PairKind.CAUSAL, method=AugmentMethod.RULES, attribute=attribute,
                                  maker=f"{rewrites.RULES_VERSION}|seed={cfg.seed}", side=CHOSEN,
                                  template_hash=rewrites.RULES_VERSION)
            candidate.made(chosen=parent.chosen, rejected=degraded.text, text=degraded.text)
            out.append(candidate)
    return out
