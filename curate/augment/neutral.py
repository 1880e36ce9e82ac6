"""Neutral augmentations (Crome): pairs whose two responses differ only in what should not matter, labeled ties.

- ``repair``: the parent's two responses under an unrelated prompt (a donor pair's, ``donor_pair_id``): for that
  prompt neither answers better, so only their spurious differences (length, style) are left to tell apart;
- ``llm``: the generator rewrites one response in another style (length, formatting or tone) with the same
  meaning (``templates/augment_style.md``); the stage keeps it only when its embedding stays close to the
  original's and the judge calls the pair a tie in both orders;
- ``rules``: ``rewrites.neutral_rewrites``, deterministic style-only rewrites.

Each pair is (original, rewrite), or the parent's (chosen, rejected) for a re-pairing, with ``tie`` true.
"""

from __future__ import annotations

from dataclasses import dataclass

from curate.augment import prompts, rewriter, rewrites
from curate.augment.candidates import Candidate, Parent, seeded
from curate.augment.config import AugmentConfig
from curate.augment.rewriter import Job
from schemas.vocab import AugmentMethod, PairKind

UNRELATED_PROMPT = "unrelated_prompt"
"""The attribute of a re-paired candidate: what changed is the prompt."""


@dataclass(frozen=True)
class Donor:
    """A prompt a re-pairing may borrow, with the first pair (by pair_id) that holds it."""

    pair_id: str
    prompt_id: str
    prompt: list[dict]
    language: str


def repair(parents: list[Parent], donors: list[Donor], cfg: AugmentConfig) -> list[Candidate]:
    """Each parent's responses under a donor's prompt: a seeded pick among the other prompts in the parent's
    language, else among all other prompts; none when the warehouse holds no other prompt."""
    by_language: dict[str, list[Donor]] = {}
    for donor in donors:
        by_language.setdefault(donor.language, []).append(donor)
    out = []
    for parent in parents:
        donor = next((d for pool in (by_language.get(parent.language, []), donors)
                      if (d := _pick(pool, parent, cfg.seed)) is not None), None)
        if donor is None:
            continue
        candidate = Candidate(parent=parent, kind=PairKind.NEUTRAL, method=AugmentMethod.REPAIR, attribute=UNRELATED_PROMPT,
                              maker=f"seed={cfg.seed}", prompt=donor.prompt, donor_pair_id=donor.pair_id)
        candidate.made(chosen=parent.chosen, rejected=parent.rejected, text=_render(donor.prompt))
        out.append(candidate)
    return out


def rules(parents: list[Parent], cfg: AugmentConfig) -> list[Candidate]:
    """Every neutral rule that applies to each configured side of each parent."""
    out = []
    for parent in parents:
        for side in cfg.sides:
            original = getattr(parent, side)
            for rewrite in rewrites.neutral_rewrites(original, key=f"{cfg.seed}:{parent.pair_id}:{side}"):
                candidate = Candidate(parent=parent, kind=PairKind.NEUTRAL, method=AugmentMethod.RULES, attribute=rewrite.name,
                                      maker=f"{rewrites.RULES_VERSION}|seed={cfg.seed}", side=side,
                                      template_hash=rewrites.RULES_VERSION)
                candidate.made(chosen=original, rejected=rewrite.text, text=rewrite.text)
                out.append(candidate)
    return out


def llm(parents: list[Parent], cfg: AugmentConfig) -> list[Job]:
    """One style rewrite job per parent, side and style aspect."""
    return [job for aspect in cfg.selected_attributes() for side in cfg.sides
            for job in rewriter.jobs(parents, cfg.generator, prompts.load(prompts.STYLE, aspect), kind=PairKind.NEUTRAL,
                                     side=side)]


def _pick(pool: list[Donor], parent: Parent, seed: int) -> Donor | None:
    """The donor at a seeded position in ``pool`` (sorted by prompt id), stepping past the parent's own prompt."""
    if not pool:
        return None
    start = seeded(seed, "donor", parent.pair_id)
    return next((d for i in range(len(pool)) if (d := pool[(start + i) % len(pool)]).prompt_id != parent.prompt_id), None)


def _render(prompt: list[dict]) -> str:
    """The borrowed prompt as the candidate's text (what the re-pairing made)."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt)
