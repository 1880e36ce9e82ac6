"""``annotate pull``: collect finished annotations from Label Studio and record them as human verdicts.

Every project a batch went to on this server is exported through an export snapshot. Each annotation is
mapped back through its task's stored side mapping to a signed strength for the stored chosen response,
and appended to ``annotations`` as a new version only when it is new or was edited since the last pull:
pulling twice adds nothing, not even a snapshot. Cancelled (skipped) annotations and tasks curate did not push are counted and
left out. A pull never waits: what is not annotated yet comes with a later pull.
"""

from __future__ import annotations

from datetime import datetime

from curate.annotate import tasks as task_view
from curate.annotate.config import PullConfig
from curate.annotate.labelstudio import LabelStudio
from curate.annotate.record import HumanVerdict, new_versions
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse
from schemas import ANNOTATION_BATCHES, ANNOTATION_TASKS, ANNOTATIONS

STAGE = "annotate_pull"
READS = (ANNOTATION_BATCHES, ANNOTATION_TASKS, ANNOTATIONS)


def run(wh: Warehouse, cfg: PullConfig) -> StageResult:
    """Pull every batch pushed to ``cfg.label_studio``'s server; one snapshot with what changed."""
    run = StageRun.start(wh, STAGE, cfg, reads=READS)
    server = cfg.label_studio.server
    with wh.connect(read_only=True, views=False) as con:
        projects = [p for (p,) in con.execute(f"SELECT DISTINCT project_id FROM {ANNOTATION_BATCHES.name} WHERE server = ? "
                                              "ORDER BY 1", [server]).fetchall()]
        sides = {(batch, pair): (left, task_id) for batch, pair, left, task_id in con.execute(
            f"SELECT t.batch_id, t.pair_id, t.left_is_chosen, t.task_id FROM {ANNOTATION_TASKS.name} t "
            f"JOIN {ANNOTATION_BATCHES.name} b USING (batch_id) WHERE b.server = ?", [server]).fetchall()}
    verdicts: list[HumanVerdict] = []
    skipped = {"cancelled": 0, "no_verdict": 0, "unknown_task": 0}
    if projects:
        with LabelStudio.connect(cfg.label_studio) as client:
            users = client.users()
            for project_id in projects:
                for task in client.export(project_id, timeout=cfg.label_studio.export_timeout_s):
                    _read_task(task, f"label-studio:{server}#{project_id}", sides, users, verdicts, skipped)

    def counted(rows: list[dict], counts: dict[str, int]) -> Counts:
        return Counts(rows_in=len(verdicts) + sum(skipped.values()), rows_written=len(rows),
                      dropped={k: v for k, v in skipped.items() if v}, outcomes=counts, details={"projects": projects})

    with wh.connect(read_only=True, views=False) as con:
        rows, counts = new_versions(con, verdicts, run_id=run.run_id, now=utcnow())
    if not rows:  # nothing new or edited: no snapshot (a scheduled pull that finds nothing leaves no trace)
        return run.result(counted(rows, counts), snapshot_id=None)

    def write(tx: Transaction) -> Counts:
        rows, counts = new_versions(tx.con, verdicts, run_id=run.run_id, now=utcnow())
        tx.append(ANNOTATIONS, rows)
        return counted(rows, counts)

    return run.commit(wh, write, message=f"annotate pull {len(verdicts)} annotations from {len(projects)} projects")


def _read_task(task: dict, origin: str, sides: dict, users: dict[int, str], out: list[HumanVerdict], skipped: dict) -> None:
    data = task.get("data") or {}
    key = (data.get("batch_id"), data.get("pair_id"))
    if key not in sides:
        skipped["unknown_task"] += len(task.get("annotations") or [])
        return
    left_chosen, _ = sides[key]
    for annotation in task.get("annotations") or []:
        if annotation.get("was_cancelled"):
            skipped["cancelled"] += 1
            continue
        preference, reason = task_view.read_result(annotation.get("result"))
        if preference is None:
            skipped["no_verdict"] += 1
            continue
        annotator = annotation.get("completed_by")
        out.append(HumanVerdict(
            pair_id=key[1], annotator=users.get(annotator, str(annotator)),
            strength=task_view.stored_strength(preference, left_chosen), origin=origin,
            annotation_id=str(annotation["id"]), reason=reason, lead_time=annotation.get("lead_time"),
            batch_id=key[0], annotated_at=_timestamp(annotation.get("updated_at") or annotation.get("created_at"))))


def _timestamp(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
