"""LLM rewrites: one request per candidate through ``LLMClient``, the answer read as ``{"rewrite": "..."}``.

A candidate's original response (the side it rewrites) stays its chosen response and the rewrite becomes its
rejected one, for both causal (original better) and neutral (a tie) candidates. A failed request rejects the
candidate as ``request_failed`` (a re-run tries it again: failures are never cached), an answer with no
rewrite in it as ``unparseable`` (the cached answer would repeat), a rewrite equal to the original as
``unchanged``; none of them stops the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from curate.augment.candidates import Candidate, Parent
from curate.augment.prompts import REWRITE_SCHEMA, RewriteTemplate
from curate.judge import endpoint as endpoints
from curate.judge.config import GeneratorConfig
from curate.llm import ChatRequest, LLMClient
from schemas.vocab import AugmentMethod, AugmentReason, PairKind, RequestStatus

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Job:
    """One rewrite to ask for: the candidate it fills, its bound template and the text it rewrites."""

    candidate: Candidate
    template: RewriteTemplate
    original: str


def jobs(parents: list[Parent], cfg: GeneratorConfig, template: RewriteTemplate, *, kind: PairKind, side: str) -> list[Job]:
    """One rewrite of each parent's ``side`` response with ``template``. The candidate's maker, hashed into its
    ``augmentation_id``, is the generator identity, the template version and every sampling setting, so a
    different model, prompt or setting is new work."""
    generator = endpoints.planned(cfg).identity()
    settings = {"temperature": cfg.temperature, "seed": cfg.seed, "max_tokens": cfg.max_tokens, "max_chars": cfg.max_chars,
                "output_mode": endpoints.output_mode(cfg)}
    made_by = f"{generator}|{template.hash}|{hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]}"
    return [Job(Candidate(parent=p, kind=kind, method=AugmentMethod.LLM, attribute=template.aspect, maker=made_by, side=side,
                          generator=generator, template_hash=template.hash), template, getattr(p, side))
            for p in parents]


def rewrite(client: LLMClient, cfg: GeneratorConfig, jobs: list[Job], progress: Progress | None = None) -> None:
    """Send every job's request and fill in (or reject) its candidate."""
    params = endpoints.generation_params(cfg, "rewrite", REWRITE_SCHEMA)
    requests = [ChatRequest(messages=job.template.messages(prompt=job.candidate.messages, response=job.original,
                                                           max_chars=cfg.max_chars),
                            params=params, template_hash=job.template.hash, tag=i) for i, job in enumerate(jobs)]
    done = 0

    def advance(_result) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(requests))

    for result in client.complete(requests, on_result=advance):
        job = jobs[result.request.tag]
        candidate = job.candidate
        candidate.request_hash = result.request_hash
        if result.status != RequestStatus.OK:  # failed, or skipped by a limit: either way no rewrite yet
            candidate.reject(AugmentReason.REQUEST_FAILED)
        elif (text := parse_rewrite(result.text)) is None:
            candidate.reject(AugmentReason.UNPARSEABLE)
        else:
            candidate.made(chosen=job.original, rejected=text, text=text)


def parse_rewrite(text: str | None) -> str | None:
    """The ``rewrite`` string of the answer: the whole text as JSON, else its outermost ``{...}``; None when
    neither holds a non-empty one (prose, a cut-off object)."""
    if not text:
        return None
    for piece in (text, text[text.find("{"): text.rfind("}") + 1]):
        try:
            obj = json.loads(piece)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("rewrite"), str) and obj["rewrite"].strip():
            return obj["rewrite"].strip()
    return None
