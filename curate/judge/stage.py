"""Judge: pairwise LLM verdicts on stored pairs, both orders, as evidence rows in ``judgments``.

``run`` picks pairs deterministically (pair_id order, the first ``limit``),
skips the orders and samples this judge version has already judged, sends
the rest through ``curate.llm`` (cache, limits, retries, cost, resume) and
appends one ``judgments`` row per order x sample in one snapshot, with the
run's counts and LLM usage in ``runs``. The same ``--limit`` again selects the
same pairs and so sends nothing. Position consistency, agreement with the
labels and length bias are SQL views (``judge_*``) over these rows: this
stage never filters, drops or decides.

With no ``base_url`` the embedded llama.cpp server (SmolLM2-135M) is started
for the run: a plumbing default that exercises everything end to end, but a
near-random judge. Point ``base_url``/``model`` at a real model for verdicts
worth using.
"""

from __future__ import annotations

from curate.judge.config import JudgeConfig
from curate.judge.pairwise import Item, Progress, execute
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import Transaction, Warehouse
from schemas import JUDGMENTS, PAIRS

STAGE = "judge"
READS = (PAIRS,)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""


def run(wh: Warehouse, cfg: JudgeConfig, progress: Progress | None = None) -> StageResult:
    """Judge the selected pairs in both orders; one snapshot of ``judgments`` rows plus the run record.

    Only ``pairs`` is this run's input: the ``judgments`` it reads to skip finished work are its own output."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    template = cfg.judge_template()
    items = _select(wh, cfg.limit)
    rows, counts = execute(wh, cfg, items, template=template, template_label=template.name, run_id=stage_run.run_id,
                           progress=progress)

    def write(tx: Transaction) -> Counts:
        tx.append(JUDGMENTS, rows)
        return counts

    return stage_run.commit(wh, write, message=f"{STAGE} {len(rows)} judgments")


def _select(wh: Warehouse, limit: int | None) -> list[Item]:
    """The first ``limit`` pairs by pair_id: a fixed, source-mixed sample, so the same limit selects the same pairs."""
    sql = f"SELECT pair_id, prompt, chosen.content, rejected.content FROM {PAIRS.name} ORDER BY pair_id"
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []).fetchall()
    return [Item(pair_id=r[0], prompt=[{"role": m["role"], "content": m["content"]} for m in r[1]], chosen=r[2], rejected=r[3])
            for r in rows]
