"""Principles: binary principles (RLBFF) extracted from the feedback text pairs already have, as evidence rows.

``run`` reads each pair's feedback (``pairs.justification``; annotators' reasons in ``annotations_latest``)
in (pair_id, source) order, the first ``limit``, asks the extractor about each one through ``curate.llm`` in
one batch, and writes every extracted principle to ``principles`` in one snapshot, kept or dropped with its
reason (``principles``). A feedback text whose exact request already has rows is not asked again; a failed
request writes nothing and is asked again by the next run. With nothing to ask, no server is started.
"""

from __future__ import annotations

from collections import Counter

from curate import ids
from curate.judge import endpoint as endpoints
from curate.llm import ChatRequest, LLMClient, request_hash
from curate.rubrics import principles
from curate.rubrics.config import PrinciplesConfig
from curate.rubrics.principles import Feedback
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse
from schemas import ANNOTATIONS, PAIRS, PRINCIPLES
from schemas.annotate import ANNOTATIONS_LATEST
from schemas.vocab import PrincipleStatus, RequestStatus

STAGE = "principles"
READS = (PAIRS, ANNOTATIONS)
"""Where feedback text comes from: a new justification or a new annotator's reason is new input."""

_SOURCES = {
    "justification": f"SELECT pair_id, 'justification' AS source, justification AS text FROM {PAIRS.name} "
                     "WHERE nullif(trim(justification), '') IS NOT NULL",
    "annotation": f"SELECT pair_id, 'annotation:' || annotator AS source, reason AS text FROM {ANNOTATIONS_LATEST} "
                  "WHERE nullif(trim(reason), '') IS NOT NULL",
}
"""Each kind of feedback as (pair_id, source, text) rows."""


def run(wh: Warehouse, cfg: PrinciplesConfig) -> StageResult:
    """Extract principles from the selected feedback texts not yet asked; one snapshot of every principle."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    gen = cfg.generator
    planned = endpoints.planned(gen)
    generator, template_hash = planned.identity(), principles.template_hash()
    feedback = _feedback(wh, cfg)
    requests = [ChatRequest(messages=principles.messages(f, max_chars=gen.max_chars), params=principles.request_params(gen),
                            template_hash=template_hash, tag=i) for i, f in enumerate(feedback)]
    hashes = [request_hash(planned, r) for r in requests]
    asked = _asked(wh, hashes)
    todo = [r for r, digest in zip(requests, hashes) if digest not in asked]
    results, usage = [], None
    if todo:
        with endpoints.serving(gen) as (live,), LLMClient(wh, live, endpoints.limits(gen), run_id=stage_run.run_id) as client:
            results = client.complete(todo)
        usage = client.usage
    now = utcnow()
    rows = [_row(feedback[r.request.tag], item, generator=generator, template_hash=template_hash, request_hash=r.request_hash,
                 run_id=stage_run.run_id, now=now)
            for r in results if r.status == RequestStatus.OK for item in principles.extract(r.text, feedback[r.request.tag].text)]
    statuses = Counter(r["status"] for r in rows)
    dropped = Counter(r["reason"] for r in rows if r["reason"])
    failed = sum(r.status == RequestStatus.FAILED for r in results)
    counts = Counts(
        rows_in=len(feedback), rows_written=len(rows), dropped=dict(dropped), error_count=failed,
        outcomes={"kept": statuses[PrincipleStatus.KEPT], "dropped": statuses[PrincipleStatus.DROPPED],
                  "already_asked": len(requests) - len(todo)},
        details={"generator": generator, "template_hash": template_hash, "texts": len(feedback), "asked": len(todo),
                 "requests_sent": usage.requests_sent if usage else 0, "cache_hits": usage.cache_hits if usage else 0,
                 "requests_failed": failed, "cost_usd": usage.cost_usd if usage else 0.0,
                 "stopped_by": usage.stopped_by if usage else None},
    )

    def write(tx: Transaction) -> Counts:
        tx.append(PRINCIPLES, rows)
        return counts

    return stage_run.commit(wh, write, message=f"{STAGE} {statuses[PrincipleStatus.KEPT]} kept of {len(rows)} principles")


def _feedback(wh: Warehouse, cfg: PrinciplesConfig) -> list[Feedback]:
    union = " UNION ALL ".join(_SOURCES[s] for s in dict.fromkeys(cfg.sources))
    sql = (f"SELECT f.pair_id, f.source, f.text, p.prompt, p.chosen.content, p.rejected.content FROM ({union}) f "
           f"JOIN {PAIRS.name} p USING (pair_id) ORDER BY f.pair_id, f.source")
    with wh.connect(read_only=True, views={ANNOTATIONS_LATEST} if "annotation" in cfg.sources else False) as con:
        rows = con.execute(sql + (" LIMIT ?" if cfg.limit else ""), [cfg.limit] if cfg.limit else []).fetchall()
    return [Feedback(pair_id=r[0], source=r[1], text=r[2], prompt=[{"role": m["role"], "content": m["content"]} for m in r[3]],
                     chosen=r[4], rejected=r[5]) for r in rows]


def _asked(wh: Warehouse, hashes: list[str]) -> set[str]:
    """The extraction requests that already have principle rows."""
    if not hashes:
        return set()
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(f"SELECT DISTINCT request_hash FROM {PRINCIPLES.name} WHERE request_hash IN (SELECT unnest(?::VARCHAR[]))",
                           [hashes]).fetchall()
    return {r[0] for r in rows}


def _row(feedback: Feedback, item: principles.Extracted, *, generator: str, template_hash: str, request_hash: str,
         run_id: str, now) -> dict:
    return {
        "principle_id": ids.digest("\x1f".join((feedback.pair_id, feedback.source, item.principle or "", generator))),
        "pair_id": feedback.pair_id, "feedback_source": feedback.source, "principle": item.principle,
        "chosen_satisfies": item.chosen, "rejected_satisfies": item.rejected, "evidence": item.evidence,
        "status": item.status.value, "reason": item.reason.value if item.reason else None, "generator": generator,
        "template_hash": template_hash, "request_hash": request_hash, "run_id": run_id, "created_at": now,
    }
