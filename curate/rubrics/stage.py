"""Rubrics: a rubric per pair written contrastively from its prompt's labels, kept only if it reproduces them.

``run`` selects original, non-tie pairs in pair_id order (the first ``limit``) and leaves out those already
decided for this generator and generation template (an accepted rubric, or every try rejected), unless
``regenerate``. Then, up to ``max_tries`` times: the writer drafts a rubric for every pending pair in one
batch (``generate``), a rubric-conditioned judge checks each readable rubric on the prompt's labeled pairs in
both orders (``checks``), the consistency filter decides (``consistency``), and the rejected pairs are drafted
again with the next seed and the reason in the prompt. Every attempt is a ``rubrics`` row, accepted or
rejected with its reason; a bad or unparseable answer is a rejected attempt, never a crash. The last attempt
of a decided pair is ``final``; a pair a limit or a failed judge left undecided has no final row, so the next
run takes it up again (attempts numbered on). ``rubrics``, ``rubric_checks`` and the checks' ``judgments``
are written in one snapshot.

The checks' rows land in ``judgments`` under template ``rubric``, one judge version per rubric (its template
hash): ``judge_pair_verdicts`` reads them like any judge's, so the fused noise score counts them as evidence,
and a pair whose own rubric's judge prefers its rejected response casts a vote against its label.
``curate judge`` with ``rubrics`` on judges with these same templates and finds the checked pairs done.

A re-run that finds nothing pending sends nothing and starts no server. One embedded server serves both the
writer and the judge when neither names an endpoint.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from curate import ids
from curate.judge import endpoint as endpoints
from curate.judge.pairwise import Progress
from curate.rubrics import consistency, generate
from curate.rubrics.attempts import Attempt, Tally, run_attempts
from curate.rubrics.config import RubricsConfig
from curate.rubrics.generate import LabeledPair, Target
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse
from schemas import JUDGMENTS, PAIRS, RUBRIC_CHECKS, RUBRICS
from schemas.vocab import PairKind, RubricReason, RubricStatus

STAGE = "rubrics"
READS = (PAIRS,)
"""The tables whose changes are this stage's input (the rubrics and judgments it reads are its own output)."""

_ELIGIBLE = (f"SELECT pair_id, prompt_id, prompt, chosen.content AS chosen, rejected.content AS rejected FROM {PAIRS.name} "
             f"WHERE coalesce(kind, '{PairKind.ORIGINAL}') = '{PairKind.ORIGINAL}' AND NOT coalesce(tie, false)")
"""Pairs a rubric is written from and checked on: a source's own labels with a preference."""
_ERRORS = (RubricReason.UNPARSEABLE, RubricReason.NO_ITEMS, RubricReason.REQUEST_FAILED)


def run(wh: Warehouse, cfg: RubricsConfig, progress: Progress | None = None) -> StageResult:
    """Write, check and filter rubrics for the selected pairs; one snapshot of every attempt and its evidence."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    generator, judge = endpoints.planned(cfg.generator).identity(), endpoints.planned(cfg.judge).identity()
    template_hash = generate.template_hash()
    selected, pending = _select(wh, cfg, generator=generator, template_hash=template_hash)
    tally = Tally()
    attempts, judgments, unfinished = [], [], set()
    if pending:
        with endpoints.serving(cfg.generator, cfg.judge) as (writer, checker):
            attempts, judgments, unfinished = run_attempts(wh, cfg, pending, writer=writer, checker=checker,
                                                           run_id=stage_run.run_id, tally=tally, progress=progress)
    last = {a.target.pair_id: a.attempt for a in attempts}
    decided = [a for a in attempts if a.attempt == last[a.target.pair_id] and a.target.pair_id not in unfinished]
    final = {(a.target.pair_id, a.attempt) for a in decided}
    now = utcnow()
    stamp = {"generator": generator, "template_hash": template_hash, "judge": judge, "run_id": stage_run.run_id, "created_at": now}
    rubric_rows = [_rubric_row(a, final=(a.target.pair_id, a.attempt) in final, **stamp) for a in attempts]
    check_rows = [_check_row(row["rubric_id"], c, run_id=stage_run.run_id, now=now)
                  for a, row in zip(attempts, rubric_rows) for c in a.checks]
    counts = _counts(selected=selected, pending=len(pending), attempts=attempts, decided=decided, unfinished=len(unfinished),
                     rows=len(rubric_rows) + len(check_rows) + len(judgments), tally=tally, generator=generator, judge=judge,
                     template_hash=template_hash)

    def write(tx: Transaction) -> Counts:
        tx.append(RUBRICS, rubric_rows)
        tx.append(RUBRIC_CHECKS, check_rows)
        tx.append(JUDGMENTS, judgments)
        return counts

    accepted = counts.outcomes[RubricStatus.ACCEPTED]
    return stage_run.commit(wh, write, message=f"{STAGE} {accepted} accepted of {len(pending)} pairs, {len(attempts)} attempts")


def _select(wh: Warehouse, cfg: RubricsConfig, *, generator: str, template_hash: str) -> tuple[int, list[tuple[Target, int]]]:
    """How many pairs the limit selects, and the pending ones with their next attempt number; each target carries
    its prompt's eligible pairs, the current one first, then by pair_id, at most ``max_pairs``."""
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(f"{_ELIGIBLE} ORDER BY pair_id" + (" LIMIT ?" if cfg.limit else ""),
                           [cfg.limit] if cfg.limit else []).fetchall()
        prompt_ids = sorted({r[1] for r in rows})
        siblings = con.execute(f"SELECT pair_id, prompt_id, chosen, rejected FROM ({_ELIGIBLE}) "
                               "WHERE prompt_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY pair_id", [prompt_ids]).fetchall()
        done = con.execute(f"SELECT pair_id, max(attempt), bool_or(final) FROM {RUBRICS.name} WHERE generator = ? "
                           "AND template_hash = ? AND pair_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY pair_id",
                           [generator, template_hash, [r[0] for r in rows]]).fetchall()
    by_prompt: dict[str, list[LabeledPair]] = defaultdict(list)
    for pair_id, prompt_id, chosen, rejected in siblings:
        by_prompt[prompt_id].append(LabeledPair(pair_id, chosen, rejected))
    tried = {pair_id: (attempt, bool(decided)) for pair_id, attempt, decided in done}
    pending = []
    for pair_id, prompt_id, prompt, chosen, rejected in rows:
        attempt, decided = tried.get(pair_id, (0, False))
        if decided and not cfg.regenerate:
            continue
        others = [p for p in by_prompt[prompt_id] if p.pair_id != pair_id][: cfg.max_pairs - 1]
        target = Target(pair_id=pair_id, prompt_id=prompt_id, prompt=[{"role": m["role"], "content": m["content"]} for m in prompt],
                        pairs=(LabeledPair(pair_id, chosen, rejected), *others))
        pending.append((target, attempt + 1))
    return len(rows), pending


def _rubric_row(a: Attempt, *, final: bool, generator: str, template_hash: str, judge: str, run_id: str, created_at) -> dict:
    decision = a.decision
    return {
        "rubric_id": ids.digest("\x1f".join((a.target.pair_id, generator, template_hash, str(a.attempt)))),
        "prompt_id": a.target.prompt_id,
        "pair_id": a.target.pair_id,
        "source_pair_ids": [p.pair_id for p in a.target.pairs],
        "attempt": a.attempt,
        "items": None if a.items is None else [{"type": i.type.value, "text": i.text} for i in a.items],
        "text": a.text,
        "generator": generator,
        "template_hash": template_hash,
        "request_hash": a.request_hash,
        "judge": judge,
        "judge_template_hash": a.template.hash if a.template else None,
        "status": decision.status.value,
        "reason": decision.reason.value if decision.reason else None,
        "accuracy": decision.accuracy,
        "pairs_checked": decision.pairs_checked,
        "current_correct": decision.current_correct,
        "final": final,
        "run_id": run_id,
        "created_at": created_at,
    }


def _check_row(rubric_id: str, check: consistency.Check, *, run_id: str, now) -> dict:
    return {"rubric_id": rubric_id, "pair_id": check.pair_id, "current": check.current,
            "verdict_chosen_as_a": check.verdict_chosen_as_a, "verdict_chosen_as_b": check.verdict_chosen_as_b,
            "verdict": check.verdict, "correct": check.correct, "run_id": run_id, "created_at": now}


def _counts(*, selected: int, pending: int, attempts: list[Attempt], decided: list[Attempt], unfinished: int, rows: int,
            tally: Tally, generator: str, judge: str, template_hash: str) -> Counts:
    """Pairs in, rows written, outcomes per pair, final rejections by reason; in ``details`` (``runs.counts``,
    what the CLI prints) every attempt's reason and the writer's and the judge's LLM usage."""
    rejected = Counter(a.decision.reason.value for a in decided if a.decision.status == RubricStatus.REJECTED)
    accepted = sum(a.decision.status == RubricStatus.ACCEPTED for a in decided)
    tried = Counter(a.decision.reason.value for a in attempts if a.decision.reason)
    outcomes = {RubricStatus.ACCEPTED.value: accepted, RubricStatus.REJECTED.value: sum(rejected.values()),
                "already_done": selected - pending, "unfinished": unfinished}
    return Counts(
        rows_in=selected, rows_written=rows, dropped=dict(rejected), outcomes=outcomes,
        error_count=sum(tried[r.value] for r in _ERRORS),
        details={"generator": generator, "judge": judge, "template_hash": template_hash, "pairs": selected,
                 "pending": pending, "accepted": accepted, "rejected": dict(rejected), "attempts": len(attempts),
                 "attempts_rejected": dict(tried), "generation": tally.generator, "checks": tally.judge,
                 "stopped_by": tally.stopped_by},
    )

