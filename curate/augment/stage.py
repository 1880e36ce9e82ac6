"""Augment: synthetic pairs made from stored ones (causal, neutral, adversarial), each with its provenance.

``run`` reads the parents (original, non-tie pairs, pair_id order, the first ``limit``), plans the run's
candidates, and drops those an earlier run already made: same augmentation id (parent, kind, method, attribute,
side, maker), unless it was rejected for a passing cause (``request_failed``, ``not_checked``). What is left is
made (LLM rewrites, rules, re-pairings, master keys), screened (a duplicate of a stored or earlier candidate
pair, a neutral LLM rewrite whose embedding drifted) and, for LLM-made candidates, checked by the judge in both
orders. One snapshot then holds the accepted ``pairs`` rows, every ``augmentations`` row (rejected ones keep
their text and reason) and the check ``judgments``. The embedded server starts at most once, and only when
there is LLM work: a re-run with nothing new sends nothing and writes no pair. One bad answer is one rejected
candidate, never a failed run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from curate.augment import adversarial, causal, checks, neutral, rewriter
from curate.augment.candidates import Candidate, Parent
from curate.augment.config import AugmentConfig
from curate.augment.rewriter import Job
from curate.judge import endpoint as endpoints
from curate.llm import EndpointConfig, LLMClient, Usage
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse
from schemas import AUGMENTATIONS, JUDGMENTS, PAIRS
from schemas.vocab import AugmentMethod, AugmentReason, AugmentStatus, PairKind

STAGE = "augment"
READS = (PAIRS,)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""
PASSING = (AugmentReason.REQUEST_FAILED, AugmentReason.NOT_CHECKED)
"""Rejections a re-run tries again; every other outcome is final."""

Progress = Callable[[str, int, int], None]
"""Called with (phase, finished, planned): phase ``rewriting`` or ``checking``."""


def run(wh: Warehouse, cfg: AugmentConfig, progress: Progress | None = None) -> StageResult:
    """Make, screen and check this run's candidates; one snapshot of pairs, augmentations and check judgments."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    if cfg.uses_llm():
        cfg.judge.judge_template()  # a bad judge template or rubric fails before any rewrite is sent
    parents = _parents(wh, cfg.limit)
    made, jobs = _plan(wh, cfg, parents)
    done = _already_made(wh, [c.augmentation_id for c in made] + [j.candidate.augmentation_id for j in jobs])
    made = [c for c in made if c.augmentation_id not in done]
    jobs = [j for j in jobs if j.candidate.augmentation_id not in done]
    candidates = made + [j.candidate for j in jobs]
    usage: dict[str, Usage] = {}
    checked = checks.Checked([], None)
    with _serving(cfg, jobs=jobs, made=made) as live:
        if jobs:
            with LLMClient(wh, live["generator"], endpoints.limits(cfg.generator), run_id=stage_run.run_id) as client:
                rewriter.rewrite(client, cfg.generator, jobs, progress=_phase(progress, "rewriting"))
            usage["generator"] = client.usage
        _reject_duplicates(wh, candidates)
        _reject_dissimilar(cfg, [j for j in jobs if j.candidate.kind == PairKind.NEUTRAL and j.candidate.reason is None])
        if "judge" in live:
            to_check = [c for c in candidates if c.reason is None and _verified(cfg, c)]
            checked = checks.check(wh, cfg.judge, to_check, run_id=stage_run.run_id, endpoint=live["judge"],
                                   progress=_phase(progress, "checking"))
    counts = _counts(parents=len(parents), candidates=candidates, already=len(done), usage=usage, checked=checked)

    def write(tx: Transaction) -> Counts:
        now = utcnow()
        tx.append(PAIRS, [c.pair_row(run_id=stage_run.run_id, now=now) for c in candidates if c.accepted])
        tx.append(AUGMENTATIONS, [c.augmentation_row(run_id=stage_run.run_id, now=now) for c in candidates])
        tx.append(JUDGMENTS, checked.rows)
        return counts

    return stage_run.commit(wh, write, message=f"{STAGE} {cfg.kind} {counts.rows_written} pairs")


def _plan(wh: Warehouse, cfg: AugmentConfig, parents: list[Parent]) -> tuple[list[Candidate], list[Job]]:
    """The candidates made without an LLM, and the rewrite jobs, for this run's kind and methods."""
    if cfg.kind == PairKind.ADVERSARIAL:
        return adversarial.make(parents, cfg), []
    if cfg.kind == PairKind.CAUSAL:
        return (causal.rules(parents, cfg), []) if cfg.method == AugmentMethod.RULES else ([], causal.llm(parents, cfg))
    made = []
    if "repair" in cfg.neutral_modes:
        made += neutral.repair(parents, _donors(wh), cfg)
    if "rules" in cfg.neutral_modes:
        made += neutral.rules(parents, cfg)
    return made, neutral.llm(parents, cfg) if "llm" in cfg.neutral_modes else []


def _verified(cfg: AugmentConfig, candidate: Candidate) -> bool:
    """LLM-made candidates are judge-checked unless ``verify`` is off; rule-made ones when ``verify_rules`` is on;
    re-pairings and master keys never (a judge preferring a non-answer is the flaw they target)."""
    if candidate.method == AugmentMethod.LLM:
        return cfg.verify
    return candidate.method == AugmentMethod.RULES and cfg.verify_rules


@contextmanager
def _serving(cfg: AugmentConfig, *, jobs: list[Job], made: list[Candidate]) -> Iterator[dict[str, EndpointConfig]]:
    """The live endpoints this run needs (``generator`` for rewrites, ``judge`` for checks), the embedded server
    started once for them; nothing started when neither is needed."""
    needed = {}
    if jobs:
        needed["generator"] = cfg.generator
    if (jobs and cfg.verify) or (cfg.verify_rules and any(c.method == AugmentMethod.RULES for c in made)):
        needed["judge"] = cfg.judge
    if not needed:
        yield {}
        return
    with endpoints.serving(*needed.values()) as live:
        yield dict(zip(needed, live))


def _phase(progress: Progress | None, phase: str):
    return None if progress is None else lambda done, planned: progress(phase, done, planned)


def _parents(wh: Warehouse, limit: int | None) -> list[Parent]:
    sql = (f"SELECT pair_id, prompt_id, prompt, chosen.content, rejected.content, language, language_detected FROM {PAIRS.name} "
           f"WHERE coalesce(kind, '{PairKind.ORIGINAL}') = '{PairKind.ORIGINAL}' AND NOT coalesce(tie, false) ORDER BY pair_id")
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []).fetchall()
    return [Parent(pair_id=r[0], prompt_id=r[1], prompt=_messages(r[2]), chosen=r[3], rejected=r[4], language=r[5],
                   language_detected=r[6]) for r in rows]


def _donors(wh: Warehouse) -> list[neutral.Donor]:
    """Every original prompt once, by prompt id, with its first pair."""
    sql = (f"SELECT prompt_id, min(pair_id), arg_min(prompt, pair_id), arg_min(language, pair_id) FROM {PAIRS.name} "
           f"WHERE coalesce(kind, '{PairKind.ORIGINAL}') = '{PairKind.ORIGINAL}' GROUP BY prompt_id ORDER BY prompt_id")
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql).fetchall()
    return [neutral.Donor(prompt_id=r[0], pair_id=r[1], prompt=_messages(r[2]), language=r[3]) for r in rows]


def _messages(prompt) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


def _already_made(wh: Warehouse, augmentation_ids: list[str]) -> set[str]:
    """The candidates an earlier run made with a final outcome."""
    if not augmentation_ids:
        return set()
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(
            f"SELECT DISTINCT augmentation_id FROM {AUGMENTATIONS.name} WHERE augmentation_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND (status = ? OR reason NOT IN (SELECT unnest(?::VARCHAR[])))",
            [augmentation_ids, AugmentStatus.ACCEPTED.value, [r.value for r in PASSING]]).fetchall()
    return {r[0] for r in rows}


def _reject_duplicates(wh: Warehouse, candidates: list[Candidate]) -> None:
    """A candidate pair already in ``pairs``, or made earlier in this run, is a ``duplicate``."""
    live = [c for c in candidates if c.reason is None and c.pair_id is not None]
    with wh.connect(read_only=True, views=False) as con:
        stored = {r[0] for r in con.execute(f"SELECT pair_id FROM {PAIRS.name} WHERE pair_id IN (SELECT unnest(?::VARCHAR[]))",
                                            [[c.pair_id for c in live]]).fetchall()}
    for c in live:
        if c.pair_id in stored:
            c.reject(AugmentReason.DUPLICATE)
        stored.add(c.pair_id)


def _reject_dissimilar(cfg: AugmentConfig, jobs: list[Job]) -> None:
    """A neutral rewrite whose embedding's cosine to the original's is below ``min_similarity`` changed meaning."""
    if not jobs:
        return
    import numpy as np

    from curate.embed.features import encode  # loads the embedder: only when there is a rewrite to compare

    vectors = encode([j.original for j in jobs] + [j.candidate.text for j in jobs], cfg.embedding)
    a, b = vectors[:len(jobs)], vectors[len(jobs):]
    cosines = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    for candidate, cosine in zip((j.candidate for j in jobs), cosines):
        candidate.similarity = round(float(cosine), 6)
        if candidate.similarity < cfg.min_similarity:
            candidate.reject(AugmentReason.LOW_SIMILARITY)


def _counts(*, parents: int, candidates: list[Candidate], already: int, usage: dict[str, Usage], checked: checks.Checked) -> Counts:
    """Parents in, pairs written; rejections by reason; in ``details`` every (kind, method, attribute, status,
    reason) with its candidates, and the generator's and the check judge's LLM usage."""
    rejected = Counter(c.reason.value for c in candidates if c.reason is not None)
    accepted = sum(c.accepted for c in candidates)
    table = Counter((c.kind.value, str(c.method), c.attribute, AugmentStatus.ACCEPTED.value if c.accepted else AugmentStatus.REJECTED.value,
                     c.reason.value if c.reason else None) for c in candidates)
    llm = {name: _usage(u) for name, u in usage.items()}
    if checked.counts is not None:
        d = checked.counts.details
        llm["judge"] = {k: d[k] for k in ("judge", "judgments", "already_judged", "requests_sent", "cache_hits",
                                          "requests_failed", "prompt_tokens", "completion_tokens", "cost_usd", "stopped_by")}
    return Counts(
        rows_in=parents,
        rows_written=accepted,
        dropped=dict(sorted(rejected.items())),
        error_count=rejected[AugmentReason.REQUEST_FAILED.value],
        outcomes={"candidates": len(candidates), AugmentStatus.ACCEPTED.value: accepted,
                  AugmentStatus.REJECTED.value: len(candidates) - accepted, "already_made": already},
        details={"by_attribute": [{"kind": k, "method": m, "attribute": a, "status": s, "reason": r, "candidates": n}
                                  for (k, m, a, s, r), n in sorted(table.items(), key=lambda i: tuple(str(x) for x in i[0]))],
                 "llm": llm},
    )


def _usage(u: Usage) -> dict:
    return {"requests_sent": u.requests_sent, "cache_hits": u.cache_hits, "requests_failed": u.failed,
            "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "cost_usd": u.cost_usd,
            "stopped_by": u.stopped_by}
