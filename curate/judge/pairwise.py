"""The pairwise protocol shared by ``curate judge`` and the robustness probe.

Each item (a prompt and two responses, the first being the pair's chosen
one) is judged in both orders, ``swapped=False`` showing chosen as A and
``swapped=True`` showing it as B, ``samples`` times each. Every order x sample
becomes one ``judgments`` row: the position picked, the verdict mapped back
to the pair (chosen / rejected / tie), confidence, P(verdict) from logprobs,
rationale, and a status (ok / unparseable / failed) so that a bad answer is
an explicit row and never stops the run. Unreadable answers are re-asked with
the template's stricter instruction, each re-ask a new request (the bad
answer stays in ``llm_requests``). Consistency across orders is left to the
``judge_*`` views: nothing here filters.

Work already done is skipped: an (item, order, sample) with an ok or
unparseable row for the same judge version, i.e. the same judge, template
version, attribute and sampling settings (``settings``: temperature, seed,
max_tokens, samples, output mode, logprobs, prompt cut, re-asks; hashed into
``settings_hash``), is not sent again unless ``rejudge`` is set, and then the
LLM cache answers it. A changed setting is judged anew, in rows of its own.
When nothing is left to send, no endpoint is contacted and no embedded
server is started: a re-run costs a query. Requests a limit stopped (``skipped``) get no row: they were never judged.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from curate.judge import endpoint as endpoints
from curate.judge.parse import VERDICT_SCHEMA, ParsedVerdict, parse_verdict, verdict_probability
from curate.judge.prompt import JudgeTemplate
from curate.llm import ChatRequest, ChatResult, EndpointConfig, LLMClient, Usage
from curate.stage import Counts, utcnow
from curate.warehouse import Warehouse
from schemas import JUDGMENTS
from schemas.vocab import FINAL_JUDGMENT_STATUSES, JudgmentStatus, Position, RequestStatus, Verdict

if TYPE_CHECKING:
    from curate.judge.config import JudgeConfig

Progress = Callable[[int, int], None]
"""Called with (requests finished, requests planned); the plan grows when answers are re-asked."""


@dataclass(frozen=True)
class Item:
    """Something to judge: a prompt, the pair's chosen and rejected responses, and its id. ``template``, when
    set, judges this item instead of the run's template (a rubric-conditioned judge: one rubric per prompt)."""

    pair_id: str
    prompt: list[dict]
    chosen: str
    rejected: str
    probe_key: str | None = None
    template: JudgeTemplate | None = None


@dataclass
class _Work:
    """One order x sample of one item, through its parse attempts."""

    item: Item
    swapped: bool
    sample: int
    messages: list[dict]
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0  # None once any attempt's cost is unknown
    status: JudgmentStatus | None = None
    error: str | None = None
    last: ChatResult | None = None
    verdict: ParsedVerdict | None = None
    answers: list[str | None] = field(default_factory=list)


def request_params(cfg: JudgeConfig, sample: int) -> dict:
    """Sampling parameters of one request; the seed differs per sample so samples are distinct requests."""
    params: dict = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens, "seed": cfg.seed + sample}
    if (form := endpoints.response_format(cfg, "verdict", VERDICT_SCHEMA)) is not None:
        params["response_format"] = form
    if cfg.logprobs:
        params["logprobs"] = True
        params["top_logprobs"] = cfg.top_logprobs
    return params


def settings(cfg: JudgeConfig) -> dict:
    """Every setting besides judge, template and attribute that shapes a verdict: part of the judge version.
    The output mode is the resolved one, so ``auto`` and what it resolves to are the same settings."""
    return {"temperature": cfg.temperature, "seed": cfg.seed, "max_tokens": cfg.max_tokens, "samples": cfg.samples,
            "output_mode": endpoints.output_mode(cfg), "logprobs": cfg.logprobs, "top_logprobs": cfg.top_logprobs,
            "max_chars": cfg.max_chars, "max_parse_retries": cfg.max_parse_retries}


def settings_json(values: dict) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def settings_hash(values: dict) -> str:
    """``judgments.settings_hash``: sha256 of the settings' canonical JSON, first 16 hex digits."""
    return hashlib.sha256(settings_json(values).encode()).hexdigest()[:16]


def stored_rows(wh: Warehouse, cfg: JudgeConfig, *, template_hashes: list[str], pair_ids: list[str]) -> list[dict]:
    """The final rows (ok or unparseable) this judge version already stored for these pairs and templates, one per
    (pair, template, order, sample): an ok row before an unparseable one, then the latest. What a caller that judges
    again (skipping what is done) overlays its new rows on to read every order's verdict."""
    if not pair_ids or not template_hashes:
        return []
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(
            f"SELECT pair_id, template_hash, swapped, sample, verdict, status FROM {JUDGMENTS.name} WHERE judge = ? "
            "AND attribute = ? AND settings_hash = ? AND status IN (SELECT unnest(?::VARCHAR[])) "
            "AND template_hash IN (SELECT unnest(?::VARCHAR[])) AND pair_id IN (SELECT unnest(?::VARCHAR[])) "
            "QUALIFY row_number() OVER (PARTITION BY pair_id, template_hash, swapped, sample "
            "ORDER BY (status = ?) DESC, judged_at DESC) = 1",
            [endpoints.planned(cfg).identity(), cfg.attribute, settings_hash(settings(cfg)),
             [s.value for s in FINAL_JUDGMENT_STATUSES], sorted(set(template_hashes)), sorted(set(pair_ids)),
             JudgmentStatus.OK.value]).fetchall()
    keys = ("pair_id", "template_hash", "swapped", "sample", "verdict", "status")
    return [dict(zip(keys, (r[0], r[1], bool(r[2]), int(r[3]), r[4], r[5]))) for r in rows]


def execute(
    wh: Warehouse,
    cfg: JudgeConfig,
    items: list[Item],
    *,
    template: JudgeTemplate,
    template_label: str,
    run_id: str,
    progress: Progress | None = None,
    endpoint: EndpointConfig | None = None,
) -> tuple[list[dict], Counts]:
    """Judge ``items`` in both orders and ``cfg.samples`` samples, skipping what this judge version already
    judged; the ``judgments`` rows and the run's counts. An item's own ``template`` overrides ``template``.
    ``endpoint``: a server the caller already runs (``endpoint.serving``); without it the endpoint (or the
    embedded server) is only started, and the one LLM client built, when there is something to send."""
    judge = endpoints.planned(cfg).identity()
    version = settings(cfg)
    version_hash = settings_hash(version)
    skip = set() if cfg.rejudge else {
        (r["pair_id"], r["template_hash"], r["swapped"], r["sample"])
        for r in stored_rows(wh, cfg, template_hashes=[(i.template or template).hash for i in items], pair_ids=[i.pair_id for i in items])}
    work = [
        _Work(item, swapped, sample, _messages(item.template or template, item, swapped, cfg.max_chars))
        for item in items
        for swapped in (False, True)
        for sample in range(cfg.samples)
        if (item.pair_id, (item.template or template).hash, swapped, sample) not in skip
    ]
    usage = Usage()
    if work:
        with _live(cfg, endpoint) as target, LLMClient(wh, target, endpoints.limits(cfg), run_id=run_id) as client:
            _judge(client, work, cfg=cfg, template=template, progress=progress)
        usage = client.usage
    stamp = {"judge": judge, "settings_hash": version_hash, "settings": settings_json(version)}
    rows = [_row(state, template=state.item.template or template, template_label=template_label, stamp=stamp, run_id=run_id)
            for state in work if state.status != JudgmentStatus.SKIPPED]
    counts = _counts(items=len(items), already_judged=len(items) * 2 * cfg.samples - len(work), work=work, rows=rows,
                     usage=usage, judge=judge, template_hash=template.hash, settings=version, settings_hash=version_hash)
    return rows, counts


@contextmanager
def _live(cfg: JudgeConfig, endpoint: EndpointConfig | None) -> Iterator[EndpointConfig]:
    if endpoint is not None:
        yield endpoint
        return
    with endpoints.serving(cfg) as (target,):
        yield target


def _judge(client: LLMClient, work: list[_Work], *, cfg: JudgeConfig, template: JudgeTemplate, progress: Progress | None) -> None:
    """Send every order x sample, re-ask unreadable answers up to ``max_parse_retries`` times, set each status."""
    pending = list(range(len(work)))
    finished, planned = 0, len(work)
    attempt = 1

    def advance(_result: ChatResult) -> None:
        nonlocal finished
        finished += 1
        if progress:
            progress(finished, planned)

    params = [request_params(cfg, sample) for sample in range(cfg.samples)]  # shared, never changed
    while pending:
        requests = [ChatRequest(messages=work[i].messages if attempt == 1 else _retry(work[i].item.template or template,
                                                                                      work[i], attempt, cfg),
                                params=params[work[i].sample], template_hash=(work[i].item.template or template).hash, tag=i)
                    for i in pending]
        pending = []
        for result in client.complete(requests, on_result=advance):
            state = work[result.request.tag]
            if result.status == RequestStatus.SKIPPED:
                state.status = JudgmentStatus.SKIPPED
                continue
            _account(state, result)
            if result.status != RequestStatus.OK:
                state.status, state.error = JudgmentStatus.FAILED, result.error or "request failed"
            elif (verdict := parse_verdict(result.text)) is not None:
                state.status, state.verdict = JudgmentStatus.OK, verdict
            elif attempt <= cfg.max_parse_retries:
                pending.append(result.request.tag)
            else:
                state.status = JudgmentStatus.UNPARSEABLE
                state.error = f"no verdict in {state.attempts} answer(s); raw text in llm_requests"
        planned += len(pending)
        attempt += 1


def _counts(*, items: int, already_judged: int, work: list[_Work], rows: list[dict], usage: Usage, judge: str,
            template_hash: str, settings: dict, settings_hash: str) -> Counts:
    """The run's counts: pairs in, judgments written, outcomes per status, and in ``details`` (what
    ``runs.counts`` keeps and the CLI prints) the verdicts and the LLM usage behind them."""
    statuses = Counter(state.status for state in work)
    outcomes = {status.value: statuses[status] for status in JudgmentStatus}
    skipped = outcomes[JudgmentStatus.SKIPPED]
    return Counts(
        rows_in=items,
        rows_written=len(rows),
        dropped={"skipped_by_limit": skipped} if skipped else {},
        error_count=outcomes[JudgmentStatus.UNPARSEABLE] + outcomes[JudgmentStatus.FAILED],
        outcomes=outcomes,
        details={
            "judge": judge,
            "template_hash": template_hash,
            "settings_hash": settings_hash,
            "settings": settings,
            "pairs": items,
            "judgments": len(rows),
            "already_judged": already_judged,
            "outcomes": outcomes,
            "verdicts": {str(k): v for k, v in Counter(r["verdict"] for r in rows if r["verdict"]).items()},
            "requests_sent": usage.requests_sent,
            "cache_hits": usage.cache_hits,
            "requests_failed": usage.failed,
            "retries": usage.retries,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd,
            "requests_unpriced": usage.unpriced,
            "stopped_by": usage.stopped_by,
        },
    )


def _messages(template: JudgeTemplate, item: Item, swapped: bool, max_chars: int) -> list[dict]:
    a, b = (item.rejected, item.chosen) if swapped else (item.chosen, item.rejected)
    return template.messages(prompt=item.prompt, response_a=a, response_b=b, max_chars=max_chars)


def _retry(template: JudgeTemplate, state: _Work, attempt: int, cfg: JudgeConfig) -> list[dict]:
    return template.retry_messages(state.messages, bad_answer=state.answers[-1], attempt=attempt, max_chars=cfg.max_chars)


def _account(state: _Work, result: ChatResult) -> None:
    state.attempts += 1
    state.last = result
    state.answers.append(result.text)
    state.prompt_tokens += result.prompt_tokens or 0
    state.completion_tokens += result.completion_tokens or 0
    if state.cost_usd is not None:
        state.cost_usd = None if result.cost_usd is None else state.cost_usd + result.cost_usd


def _row(state: _Work, *, template: JudgeTemplate, template_label: str, stamp: dict, run_id: str) -> dict:
    """One ``judgments`` row; ``stamp`` holds the judge version's judge and settings."""
    verdict = state.verdict
    winner = verdict.winner if verdict else None
    return {
        "pair_id": state.item.pair_id,
        "judge": stamp["judge"],
        "template": template_label,
        "template_hash": template.hash,
        "attribute": template.attribute,
        "swapped": state.swapped,
        "sample": state.sample,
        "winner": winner,
        "verdict": _verdict(winner, state.swapped),
        "strength": verdict.confidence if verdict else None,
        "p_verdict": verdict_probability(state.last.logprobs, state.last.text, winner) if verdict else None,
        "rationale": verdict.rationale if verdict else None,
        "status": state.status,
        "error": state.error,
        "parse_attempts": state.attempts,
        "request_hash": state.last.request_hash if state.last else None,
        "prompt_tokens": state.prompt_tokens,
        "completion_tokens": state.completion_tokens,
        "cost_usd": state.cost_usd,
        "probe_key": state.item.probe_key,
        "run_id": run_id,
        "judged_at": utcnow(),
        "settings_hash": stamp["settings_hash"],
        "settings": stamp["settings"],
    }


def _verdict(winner: Position | None, swapped: bool) -> Verdict | None:
    """The position picked, mapped back to the pair: chosen is A unless swapped."""
    if winner is None:
        return None
    if winner == Position.TIE:
        return Verdict.TIE
    return Verdict.CHOSEN if (winner == Position.A) != swapped else Verdict.REJECTED
