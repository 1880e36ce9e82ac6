"""The checks behind the consistency filter: each rubric judged on its prompt's labeled pairs, both orders.

The judge is the pairwise protocol (``curate.judge.pairwise``) with the template bound to the rubric's text,
its rows labeled template ``rubric``: they are ordinary ``judgments``, skipped when that judge version already
judged them, and the verdicts the filter reads are the rows this run wrote plus the final rows stored before.
An order counts as checked when every sample of it has a final row (ok or unparseable); a pair is checked when
both orders are. A request that failed or that a limit stopped leaves its pair unchecked.
"""

from __future__ import annotations

from collections import defaultdict

from curate.judge import prompt as judge_prompt
from curate.judge.config import JudgeConfig
from curate.judge.pairwise import Item, Progress, execute, settings, settings_hash, stored_rows
from curate.llm import EndpointConfig
from curate.rubrics.consistency import Check, order_verdict
from curate.rubrics.generate import Target
from curate.stage import Counts
from curate.warehouse import Warehouse
from schemas.rubrics import RUBRIC_TEMPLATE
from schemas.vocab import FINAL_JUDGMENT_STATUSES

Key = tuple[str, str, bool]
"""(pair_id, template_hash, swapped): one order of one pair under one rubric."""


def items(target: Target, template: judge_prompt.JudgeTemplate) -> list[Item]:
    """The prompt's labeled pairs (the current one first), each judged with the rubric-bound ``template``."""
    return [Item(pair_id=p.pair_id, prompt=target.prompt, chosen=p.chosen, rejected=p.rejected, template=template)
            for p in target.pairs]


def judge(wh: Warehouse, cfg: JudgeConfig, batch: list[Item], *, earlier: list[dict], run_id: str,
          endpoint: EndpointConfig, progress: Progress | None = None) -> tuple[list[dict], Counts]:
    """Judge ``batch`` in both orders, leaving out what this run already judged (``earlier``: its rows, not yet
    committed, so the protocol cannot see them); the new ``judgments`` rows and the protocol's counts."""
    done = {(r["pair_id"], r["template_hash"]) for r in earlier if r["status"] in FINAL_JUDGMENT_STATUSES}
    unique = {(i.pair_id, i.template.hash): i for i in batch if (i.pair_id, i.template.hash) not in done}
    base = judge_prompt.load(cfg.template, attribute=cfg.attribute)
    return execute(wh, cfg, list(unique.values()), template=base, template_label=RUBRIC_TEMPLATE, run_id=run_id,
                   endpoint=endpoint, progress=progress)


def verdicts(wh: Warehouse, cfg: JudgeConfig, batch: list[Item], run_rows: list[dict]) -> dict[Key, dict[int, str | None]]:
    """Per order of each item: sample -> verdict (None: unparseable), from the final rows of this judge version
    stored before this run, overlaid with this run's."""
    version = settings_hash(settings(cfg))
    found: dict[Key, dict[int, str | None]] = defaultdict(dict)
    for r in stored_rows(wh, cfg, template_hashes=[i.template.hash for i in batch], pair_ids=[i.pair_id for i in batch]):
        found[(r["pair_id"], r["template_hash"], r["swapped"])][r["sample"]] = r["verdict"]
    for r in run_rows:
        if r["status"] in FINAL_JUDGMENT_STATUSES and r["settings_hash"] == version:
            found[(r["pair_id"], r["template_hash"], r["swapped"])][r["sample"]] = r["verdict"]
    return found


def checks(target: Target, template_hash: str, found: dict[Key, dict[int, str | None]], samples: int) -> list[Check]:
    """The checks of one rubric: a pair's verdicts in both orders, for each pair judged in both."""
    out = []
    for i, pair in enumerate(target.pairs):
        orders = [found.get((pair.pair_id, template_hash, swapped), {}) for swapped in (False, True)]
        if all(s in order for order in orders for s in range(samples)):
            a, b = (order_verdict([order[s] for s in range(samples)]) for order in orders)
            out.append(Check(pair_id=pair.pair_id, current=i == 0, verdict_chosen_as_a=a, verdict_chosen_as_b=b))
    return out
