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

With ``rubrics`` on, each pair is judged with the accepted rubric of its prompt (``curate rubrics``): its own
pair's latest, else the prompt's latest, bound into the template and labeled template ``rubric``, as the
rubrics stage's checks are. Pairs without one are skipped. A pair that rubric was checked on is already
judged by this judge version (same template hash and settings), so nothing is sent for it again.
"""

from __future__ import annotations

from curate.judge import prompt as judge_prompt
from curate.judge.config import JudgeConfig
from curate.judge.pairwise import Item, Progress, execute
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import Transaction, Warehouse
from schemas import JUDGMENTS, PAIRS, RUBRICS
from schemas.rubrics import RUBRIC_TEMPLATE
from schemas.vocab import PairKind, RubricStatus

STAGE = "judge"
READS = (PAIRS,)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were (with
``rubrics`` on, ``rubrics`` too: a newly accepted rubric is new input)."""


def run(wh: Warehouse, cfg: JudgeConfig, progress: Progress | None = None) -> StageResult:
    """Judge the selected pairs in both orders; one snapshot of ``judgments`` rows plus the run record.

    Only ``pairs`` (and ``rubrics`` when on) is this run's input: the ``judgments`` it reads to skip finished work
    are its own output."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=(*READS, RUBRICS) if cfg.rubrics else READS)
    template = cfg.judge_template()
    items = _select_with_rubrics(wh, cfg) if cfg.rubrics else _select(wh, cfg.limit)
    rows, counts = execute(wh, cfg, items, template=template, template_label=RUBRIC_TEMPLATE if cfg.rubrics else template.name,
                           run_id=stage_run.run_id, progress=progress)

    def write(tx: Transaction) -> Counts:
        tx.append(JUDGMENTS, rows)
        return counts

    return stage_run.commit(wh, write, message=f"{STAGE} {len(rows)} judgments")


_ORIGINAL = f"coalesce(kind, '{PairKind.ORIGINAL}') = '{PairKind.ORIGINAL}'"


def _select(wh: Warehouse, limit: int | None) -> list[Item]:
    """The first ``limit`` of the sources' own pairs by pair_id: a fixed, source-mixed sample, so the same limit selects
    the same pairs. Augmentations are left out: ``curate augment`` checked the ones it kept, and their labels have
    no noise to find."""
    sql = f"SELECT pair_id, prompt, chosen.content, rejected.content FROM {PAIRS.name} WHERE {_ORIGINAL} ORDER BY pair_id"
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []).fetchall()
    return [Item(pair_id=r[0], prompt=[{"role": m["role"], "content": m["content"]} for m in r[1]], chosen=r[2], rejected=r[3])
            for r in rows]


def _select_with_rubrics(wh: Warehouse, cfg: JudgeConfig) -> list[Item]:
    """The first ``limit`` pairs by pair_id that have an accepted rubric, each with its template bound to it."""
    accepted = f"FROM {RUBRICS.name} WHERE status = '{RubricStatus.ACCEPTED}' AND final"
    sql = (f"WITH own AS (SELECT pair_id, arg_max(text, (created_at, rubric_id)) AS text {accepted} GROUP BY pair_id), "
           f"per_prompt AS (SELECT prompt_id, arg_max(text, (created_at, rubric_id)) AS text {accepted} GROUP BY prompt_id) "
           f"SELECT p.pair_id, p.prompt, p.chosen.content, p.rejected.content, coalesce(own.text, per_prompt.text) AS rubric "
           f"FROM {PAIRS.name} p LEFT JOIN own USING (pair_id) LEFT JOIN per_prompt USING (prompt_id) "
           f"WHERE rubric IS NOT NULL AND {_ORIGINAL} ORDER BY p.pair_id")
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql + (" LIMIT ?" if cfg.limit else ""), [cfg.limit] if cfg.limit else []).fetchall()
    templates = {text: judge_prompt.load(cfg.template, attribute=cfg.attribute, rubric=text) for text in {r[4] for r in rows}}
    return [Item(pair_id=r[0], prompt=[{"role": m["role"], "content": m["content"]} for m in r[1]], chosen=r[2], rejected=r[3],
                 template=templates[r[4]]) for r in rows]
