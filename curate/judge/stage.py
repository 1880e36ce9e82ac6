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

from curate.judge.config import EMBEDDED_NOTICE, JudgeConfig, LimitReached
from curate.judge.pairwise import Item, Progress, execute, write_run
from curate.stage import StageResult, new_run_id, utcnow
from curate.warehouse import Warehouse

STAGE = "judge"


def run(wh: Warehouse, cfg: JudgeConfig, progress: Progress | None = None) -> StageResult:
    """Judge the selected pairs in both orders; one snapshot of ``judgments`` rows plus the run record."""
    started = utcnow()
    run_id = new_run_id(STAGE)
    template = cfg.judge_template()
    items = _select(wh, cfg.limit)
    rows, counts = execute(wh, cfg, items, template=template, template_label=template.name, run_id=run_id, progress=progress)
    return write_run(wh, STAGE, run_id=run_id, started=started, cfg=cfg, rows=rows, counts=counts)


def _select(wh: Warehouse, limit: int | None) -> list[Item]:
    """The first ``limit`` pairs by pair_id: a fixed, source-mixed sample, so the same limit selects the same pairs."""
    sql = "SELECT pair_id, prompt, chosen.content, rejected.content FROM pairs ORDER BY pair_id"
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []).fetchall()
    return [Item(pair_id=r[0], prompt=[{"role": m["role"], "content": m["content"]} for m in r[1]], chosen=r[2], rejected=r[3])
            for r in rows]
