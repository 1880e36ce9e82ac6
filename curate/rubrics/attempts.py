"""The attempt loop of the rubrics stage: draft every pending pair's rubric, check them, regenerate the rejected.

Each round is one writer batch through ``LLMClient`` and one judge batch through the pairwise protocol. The
writer's and the judge's limits (``max_requests``, ``max_cost_usd``) hold for the whole run, not per round:
each round's client gets what the earlier rounds left. When a limit stops the run, the pairs it cut short stay
unfinished (no final attempt) and the next run takes them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curate.judge import endpoint as endpoints
from curate.judge import prompt as judge_prompt
from curate.judge.pairwise import Progress
from curate.llm import ChatRequest, EndpointConfig, LimitsConfig, LLMClient, Usage
from curate.rubrics import checks, consistency, generate
from curate.rubrics.config import RubricsConfig
from curate.rubrics.consistency import Check, Decision
from curate.rubrics.generate import RubricItem, Target
from curate.warehouse import Warehouse
from schemas.vocab import RequestStatus, RubricReason, RubricStatus

_USAGE = ("requests_sent", "cache_hits", "requests_failed", "retries", "prompt_tokens", "completion_tokens")


def _zero() -> dict:
    return {**dict.fromkeys(_USAGE, 0), "cost_usd": 0.0, "stopped_by": None}


@dataclass
class Tally:
    """LLM usage of the run so far: the writer's and the judge's, each as the judge's counts name it."""

    generator: dict = field(default_factory=_zero)
    judge: dict = field(default_factory=_zero)

    @property
    def stopped_by(self) -> str | None:
        return self.generator["stopped_by"] or self.judge["stopped_by"]


@dataclass
class Attempt:
    """One try at one pair's rubric: the writer's answer, what could be read of it, its checks and decision (a
    readable rubric is not checked until its checks are read)."""

    target: Target
    attempt: int
    request_hash: str | None
    decision: Decision
    items: list[RubricItem] | None = None
    text: str | None = None
    template: judge_prompt.JudgeTemplate | None = None
    checks: list[Check] = field(default_factory=list)


class _Requests:
    """The stage's progress over every round: each phase's (finished, planned) requests added to the earlier ones'."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.done, self.last = progress, 0, 0

    def phase(self) -> Progress | None:
        if self.progress is None:
            return None
        self.done, self.last = self.done + self.last, 0
        start = self.done

        def report(finished: int, planned: int) -> None:
            self.last = planned
            self.progress(start + finished, start + planned)

        return report


def run_attempts(wh: Warehouse, cfg: RubricsConfig, pending: list[tuple[Target, int]], *, writer: EndpointConfig,
                 checker: EndpointConfig, run_id: str, tally: Tally,
                 progress: Progress | None = None) -> tuple[list[Attempt], list[dict], set[str]]:
    """Every attempt in order, the checks' new ``judgments`` rows, and the pairs left unfinished."""
    attempts: list[Attempt] = []
    judgments: list[dict] = []
    unfinished: set[str] = set()
    requests = _Requests(progress)
    work: list[tuple[Target, int, Decision | None]] = [(target, attempt, None) for target, attempt in pending]
    for _ in range(cfg.max_tries):
        batch, cut = _draft(wh, cfg, work, endpoint=writer, run_id=run_id, tally=tally, progress=requests.phase())
        unfinished |= cut
        readable = [a for a in batch if a.template is not None]
        items = [item for a in readable for item in checks.items(a.target, a.template)]
        judge_cfg = cfg.judge.model_copy(update={"limits": _left(cfg.judge.limits, tally.judge)})
        rows, counts = checks.judge(wh, judge_cfg, items, earlier=judgments, run_id=run_id, endpoint=checker,
                                    progress=requests.phase())
        judgments += rows
        _add(tally.judge, counts.details)
        found = checks.verdicts(wh, cfg.judge, items, judgments)
        for a in readable:
            a.checks = checks.checks(a.target, a.template.hash, found, cfg.judge.samples)
            a.decision = consistency.decide(a.checks, min_accuracy=cfg.min_accuracy)
        attempts += batch
        unfinished |= {a.target.pair_id for a in batch if a.decision.reason == RubricReason.NOT_CHECKED}
        work = [(a.target, a.attempt + 1, a.decision) for a in batch
                if a.decision.status == RubricStatus.REJECTED and a.target.pair_id not in unfinished]
        if tally.stopped_by:
            unfinished |= {target.pair_id for target, _, _ in work}
            break
        if not work:
            break
    return attempts, judgments, unfinished


def _draft(wh: Warehouse, cfg: RubricsConfig, work: list[tuple[Target, int, Decision | None]], *, endpoint: EndpointConfig,
           run_id: str, tally: Tally, progress: Progress | None) -> tuple[list[Attempt], set[str]]:
    """One writer batch: an attempt per answered request, and the pairs whose request a limit stopped."""
    gen = cfg.generator
    template_hash = generate.template_hash()
    requests = [ChatRequest(messages=generate.messages(target, attempt=attempt, previous=previous, max_chars=gen.max_chars),
                            params=generate.request_params(gen, attempt), template_hash=template_hash, tag=i)
                for i, (target, attempt, previous) in enumerate(work)]
    finished = [0]

    def advance(_result) -> None:
        finished[0] += 1
        if progress:
            progress(finished[0], len(requests))

    with LLMClient(wh, endpoint, _left(endpoints.limits(gen), tally.generator), run_id=run_id) as client:
        results = client.complete(requests, on_result=advance)
    _add(tally.generator, _usage(client.usage))
    batch, cut = [], set()
    for result in results:
        target, attempt, _ = work[result.request.tag]
        if result.status == RequestStatus.SKIPPED:
            cut.add(target.pair_id)
        elif result.status != RequestStatus.OK:
            batch.append(Attempt(target, attempt, result.request_hash, consistency.rejected(RubricReason.REQUEST_FAILED)))
        else:
            batch.append(_read(cfg, target, attempt, result.request_hash, result.text))
    return batch, cut


def _read(cfg: RubricsConfig, target: Target, attempt: int, request_hash: str, text: str | None) -> Attempt:
    """The attempt an answer makes: its rubric bound into the judge's template, or rejected as unreadable."""
    items = generate.parse(text)
    if items is None:
        return Attempt(target, attempt, request_hash, consistency.rejected(RubricReason.UNPARSEABLE))
    if not items:
        return Attempt(target, attempt, request_hash, consistency.rejected(RubricReason.NO_ITEMS), items=items)
    rubric = generate.render(items)
    template = judge_prompt.load(cfg.judge.template, attribute=cfg.judge.attribute, rubric=rubric)
    return Attempt(target, attempt, request_hash, consistency.rejected(RubricReason.NOT_CHECKED), items=items,
                   text=rubric, template=template)


def _usage(usage: Usage) -> dict:
    return {"requests_sent": usage.requests_sent, "cache_hits": usage.cache_hits, "requests_failed": usage.failed,
            "retries": usage.retries, "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd, "stopped_by": usage.stopped_by}


def _add(total: dict, more: dict) -> None:
    """Add one client's usage to the run's (a cost unknown once is unknown for the run)."""
    for key in _USAGE:
        total[key] += more[key]
    total["cost_usd"] = None if total["cost_usd"] is None or more["cost_usd"] is None else total["cost_usd"] + more["cost_usd"]
    total["stopped_by"] = total["stopped_by"] or more["stopped_by"]


def _left(limits: LimitsConfig, spent: dict) -> LimitsConfig:
    """``limits`` less what the run has spent already: its request cap and budget hold for the whole run."""
    update: dict = {}
    if limits.max_requests is not None:
        update["max_requests"] = max(0, limits.max_requests - spent["requests_sent"])
    if limits.max_cost_usd is not None and spent["cost_usd"] is not None:
        update["max_cost_usd"] = max(0.0, limits.max_cost_usd - spent["cost_usd"])
    return limits.model_copy(update=update)
