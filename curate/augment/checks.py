"""The judge's check of candidates: both orders through the pairwise protocol, one verdict per order.

A causal candidate passes when the judge finds the original better in both orders (verdict ``chosen`` twice);
a neutral one when it calls a tie in both orders. The check verdicts are ``judgments`` rows like any other
(template ``augment-check/<template>``), written in the augment run's snapshot; an order this judge version
already judged (a candidate retried after a limit stopped its check) is read back, not sent again.

Per order: the strict majority of its ok samples. An order with no verdict because a limit stopped it leaves
the candidate ``not_checked``, because its request failed ``request_failed`` (both tried again by the next
run); an unreadable answer counts as no agreement (its cached answer would only repeat).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from curate.augment.candidates import Candidate
from curate.judge.config import JudgeConfig
from curate.judge.pairwise import Item, Progress, execute, stored_rows
from curate.llm import EndpointConfig
from curate.stage import Counts
from curate.warehouse import Warehouse
from schemas.vocab import AugmentReason, JudgmentStatus, PairKind, Verdict

TEMPLATE_LABEL = "augment-check"
_EXPECTED = {PairKind.CAUSAL: (Verdict.CHOSEN, AugmentReason.JUDGE_DISAGREES),
             PairKind.NEUTRAL: (Verdict.TIE, AugmentReason.NOT_A_TIE)}


@dataclass(frozen=True)
class Checked:
    """The check's judgments rows (to write) and the protocol's counts (its LLM usage)."""

    rows: list[dict]
    counts: Counts | None


def check(wh: Warehouse, cfg: JudgeConfig, candidates: list[Candidate], *, run_id: str, endpoint: EndpointConfig,
          progress: Progress | None = None) -> Checked:
    """Judge each candidate in both orders and accept or reject it by the verdicts."""
    if not candidates:
        return Checked([], None)
    template = cfg.judge_template()
    items = {c.pair_id: Item(pair_id=c.pair_id, prompt=c.messages, chosen=c.chosen, rejected=c.rejected) for c in candidates}
    rows, counts = execute(wh, cfg, list(items.values()), template=template,
                           template_label=f"{TEMPLATE_LABEL}/{template.name}", run_id=run_id, endpoint=endpoint,
                           progress=progress)
    judge = counts.details["judge"]
    earlier = stored_rows(wh, cfg, template_hashes=[template.hash], pair_ids=list(items))
    latest = {(r["pair_id"], bool(r["swapped"]), r["sample"]): r for r in [*earlier, *rows]}  # this run's rows win
    orders = _order_verdicts(list(latest.values()))
    for c in candidates:
        c.judge = judge
        as_a, as_b = orders.get((c.pair_id, False)), orders.get((c.pair_id, True))
        c.verdict_chosen_as_a, c.verdict_chosen_as_b = (o.verdict if o else None for o in (as_a, as_b))
        expected, disagrees = _EXPECTED[c.kind]
        if as_a is None or as_b is None:
            c.reject(AugmentReason.NOT_CHECKED)
        elif as_a.verdict == as_b.verdict == expected:
            continue
        elif JudgmentStatus.FAILED in (as_a.status, as_b.status):
            c.reject(AugmentReason.REQUEST_FAILED)
        else:
            c.reject(disagrees)
    return Checked(rows, counts)


@dataclass(frozen=True)
class _Order:
    verdict: str | None  # the majority of the ok samples, None without one
    status: str  # ok when some sample is ok, else the status of the samples (failed, unparseable)


def _order_verdicts(rows: list[dict]) -> dict[tuple[str, bool], _Order]:
    grouped: dict[tuple[str, bool], list[dict]] = defaultdict(list)
    for row in rows:
        grouped[(row["pair_id"], bool(row["swapped"]))].append(row)
    out = {}
    for key, samples in grouped.items():
        ok = Counter(str(r["verdict"]) for r in samples if r["status"] == JudgmentStatus.OK)
        top = ok.most_common(1)
        verdict = top[0][0] if top and top[0][1] * 2 > sum(ok.values()) else None
        statuses = {str(r["status"]) for r in samples}
        status = JudgmentStatus.OK if ok else (JudgmentStatus.FAILED if JudgmentStatus.FAILED in statuses
                                              else JudgmentStatus.UNPARSEABLE)
        out[key] = _Order(verdict, status)
    return out
