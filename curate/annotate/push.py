"""``annotate push``: route a batch of pairs to people and create one Label Studio task per pair.

The batch, its routing policy and each task's side mapping are written to the warehouse in one snapshot,
after Label Studio has created the tasks. Nothing waits for the annotators: ``pull`` collects what they
finish, whenever that is (a scheduled flow runs it), and the batch's state lives in the warehouse
(view ``annotation_batch_state``).
"""

from __future__ import annotations

import json

from curate.annotate import tasks as task_view
from curate.annotate.config import PushConfig
from curate.annotate.labelstudio import LabelStudio
from curate.annotate.routing import Route, reasons_count, route
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse, relations
from schemas import ANNOTATION_BATCHES, ANNOTATION_TASKS, JUDGMENTS, NOISE_SCORES, PAIRS
from schemas.judge import JUDGE_PAIR_VERDICTS

STAGE = "annotate_push"
TOOL = "label-studio"
READS = (PAIRS, NOISE_SCORES, JUDGMENTS)
"""What routing reads: a flow pushes no new batch while these stay as they were (the tasks it wrote itself are
not an input: they only keep a pair from being routed twice)."""


def run(wh: Warehouse, cfg: PushConfig) -> StageResult:
    """Route up to ``cfg.routing.limit`` pairs and push them as tasks; a batch of none pushes nothing."""
    run = StageRun.start(wh, STAGE, cfg, reads=READS)
    with wh.connect(read_only=True) as con:
        routes = route(con, cfg.routing)
        pairs = _pairs(con, [r.pair_id for r in routes])
        judged = _judge_verdicts(con, [r.pair_id for r in routes]) if cfg.show_suggestions else {}
    if not routes:
        return run.commit(wh, lambda tx: Counts(rows_in=0, rows_written=0, details={"batch_id": None}),
                          message="annotate push: nothing to route")
    sides = {r.pair_id: task_view.left_is_chosen(r.pair_id, cfg.routing.seed) for r in routes}
    data = [task_view.task_data(pairs[r.pair_id], batch_id=run.run_id, left_chosen=sides[r.pair_id],
                                suggestion=_suggestion(r, judged, sides[r.pair_id]) if cfg.show_suggestions else None)
            for r in routes]
    title = cfg.label_studio.project + (" (with suggestions)" if cfg.show_suggestions else "")
    with LabelStudio.connect(cfg.label_studio) as client:
        project = client.ensure_project(title, task_view.label_config(ask_reason=cfg.ask_reason, show_suggestions=cfg.show_suggestions),
                                        overlap=cfg.overlap)
        task_ids = client.import_tasks(project["id"], data)
    reasons = reasons_count(routes)

    def write(tx: Transaction) -> Counts:
        now = utcnow()
        tx.append(ANNOTATION_BATCHES, [{
            "batch_id": run.run_id, "tool": TOOL, "server": cfg.label_studio.server, "project_id": project["id"],
            "project": title, "overlap": cfg.overlap, "show_suggestions": cfg.show_suggestions,
            "routing": cfg.routing.model_dump_json(), "reasons": json.dumps(reasons, sort_keys=True), "pairs": len(routes),
            "run_id": run.run_id, "created_at": now}])
        tx.append(ANNOTATION_TASKS, [
            {"batch_id": run.run_id, "pair_id": r.pair_id, "task_id": task_id, "left_is_chosen": sides[r.pair_id],
             "route_reason": r.reason.value, "p_wrong": r.p_wrong, "run_id": run.run_id, "created_at": now}
            for r, task_id in zip(routes, task_ids)])
        return Counts(rows_in=len(routes), rows_written=len(routes) + 1, outcomes=reasons,
                      details={"batch_id": run.run_id, "project_id": project["id"], "project": title,
                               "url": f"{cfg.label_studio.server}/projects/{project['id']}/data"})

    return run.commit(wh, write, message=f"annotate push {len(routes)} pairs to project {project['id']}")


def _pairs(con, pair_ids: list[str]) -> dict[str, dict]:
    rows = con.execute(f"SELECT pair_id, prompt, chosen.content, rejected.content FROM {PAIRS.name} "
                       "WHERE pair_id IN (SELECT unnest(?::VARCHAR[]))", [pair_ids]).fetchall()
    return {pair_id: {"pair_id": pair_id, "prompt": prompt, "chosen": chosen, "rejected": rejected}
            for pair_id, prompt, chosen, rejected in rows}


def _judge_verdicts(con, pair_ids: list[str]) -> dict[str, str]:
    """Per pair, the judge versions' most common position-consistent verdict (for suggestions only)."""
    if JUDGE_PAIR_VERDICTS not in relations(con):
        return {}
    rows = con.execute(f"SELECT pair_id, mode(verdict) FROM {JUDGE_PAIR_VERDICTS} WHERE consistent "
                       "AND pair_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY pair_id", [pair_ids]).fetchall()
    return dict(rows)


def _suggestion(r: Route, judged: dict[str, str], left_chosen: bool) -> str:
    return task_view.suggestion_text(judge_verdict=judged.get(r.pair_id), p_wrong=r.p_wrong, left_chosen=left_chosen)
