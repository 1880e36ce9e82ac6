"""``curate annotate import``: verdicts annotated elsewhere (a Label Studio or Argilla export) as annotations.

Each verdict in the export names its comparison by the same ids ingest gives it (the records are parsed by the
ingest adapters, the ids are ``curate.ids``). A verdict on a stored pair is oriented to its stored label by the
responses' content hashes (response ``a`` is the stored chosen or the stored rejected one) and appended as an
``annotations`` version with origin ``file:<absolute path>`` and no batch. A verdict on a pair the warehouse
does not hold is counted as ``unknown_pair``: ingest the file first. Importing the same file again adds
nothing; an annotation edited since adds a new version (``record.new_versions``). A task curate itself pushed
(its data names a batch this warehouse holds) is left to ``curate annotate pull`` and counted as
``already_pulled``: importing its export too would count each of those annotators twice.
"""

from __future__ import annotations

from collections import Counter

from curate import ids
from curate.annotate import interchange
from curate.annotate.config import ImportConfig
from curate.annotate.interchange import BadRecord, External
from curate.annotate.record import HumanVerdict, new_versions
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import Transaction, Warehouse
from schemas import ANNOTATION_BATCHES, ANNOTATIONS, PAIRS, RejectReason

STAGE = "annotate_import"
READS = (PAIRS, ANNOTATIONS)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""
UNKNOWN_PAIR = "unknown_pair"  # a verdict on a comparison the warehouse has no pair for
ALREADY_PULLED = "already_pulled"  # a verdict on a task of a batch curate pushed: `curate annotate pull` collects it
OUTCOMES = ("imported", "edited", "unchanged", UNKNOWN_PAIR, ALREADY_PULLED, "bad")
"""What became of each item of the export: a new annotation, a new version, the same again, no pair, unreadable."""


def run(wh: Warehouse, cfg: ImportConfig) -> StageResult:
    """Append the export's verdicts on stored pairs to ``annotations``, as one snapshot."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    path = cfg.path.resolve()
    origin = f"file:{path}"
    fmt = interchange.export_format(path, cfg.format)
    items = list(interchange.read_export(path, fmt))
    bad = [i for i in items if isinstance(i, BadRecord)]
    keyed = [(item, *_ids(item)) for item in items if isinstance(item, External)]

    def write(tx: Transaction) -> Counts:
        wanted = sorted({pair_id for _, pair_id, _, _ in keyed})
        stored = dict(tx.execute(f"SELECT pair_id, chosen_hash FROM {PAIRS.name} WHERE pair_id IN (SELECT unnest(?::VARCHAR[]))",
                                 [wanted]).fetchall())
        pushed = {b for (b,) in tx.execute(f"SELECT batch_id FROM {ANNOTATION_BATCHES.name}").fetchall()}
        dropped = Counter(str(b.reason) for b in bad)
        verdicts, no_annotator = [], 0
        for external, pair_id, hash_a, hash_b in keyed:
            annotator = external.annotator or cfg.annotator
            if external.batch_id in pushed:
                dropped[ALREADY_PULLED] += 1
            elif hash_a == hash_b:
                dropped[RejectReason.IDENTICAL_RESPONSES.value] += 1
            elif annotator is None:
                dropped[RejectReason.MISSING_FIELD.value] += 1  # no annotator in the record, none configured
                no_annotator += 1
            elif pair_id not in stored:
                dropped[UNKNOWN_PAIR] += 1
            else:
                verdicts.append(HumanVerdict(
                    pair_id=pair_id, annotator=annotator,
                    strength=external.preference if hash_a == stored[pair_id] else -external.preference,
                    origin=origin, annotation_id=external.annotation_id, reason=external.reason,
                    lead_time=external.lead_time, batch_id=None, annotated_at=external.annotated_at,
                ))
        rows, versions = new_versions(tx.con, verdicts, run_id=tx.run_id, now=stage_run.started_at)
        tx.append(ANNOTATIONS, rows)
        errors = sum(n for reason, n in dropped.items() if reason not in (UNKNOWN_PAIR, ALREADY_PULLED))
        outcomes = {"imported": versions["new"], "edited": versions["edited"], "unchanged": versions["unchanged"],
                    UNKNOWN_PAIR: dropped[UNKNOWN_PAIR], ALREADY_PULLED: dropped[ALREADY_PULLED], "bad": errors}
        details = {"origin": origin, "format": fmt, "verdicts": len(keyed)}
        if dropped[UNKNOWN_PAIR]:
            source = path / interchange.RECORDS_FILE if path.is_dir() else path
            details["hint"] = (f"{dropped[UNKNOWN_PAIR]} verdicts are on pairs this warehouse does not hold: ingest the file "
                               f"first (curate ingest {source} --format {fmt}), then import it again")
        if no_annotator:
            details["annotator_hint"] = (f"{no_annotator} verdicts name no annotator: give one for them "
                                         "(ImportConfig.annotator) to import them")
        return Counts(rows_in=len(items), rows_written=len(rows), dropped=dict(sorted(dropped.items())),
                      error_count=errors, outcomes=outcomes, details=details)

    return stage_run.commit(wh, write, message=f"annotate import {path.name}")


def _ids(external: External) -> tuple[str, str, str]:
    """The pair id of the verdict's comparison and both responses' hashes, as ingest computes them."""
    hash_a, hash_b = ids.content_hash(external.a), ids.content_hash(external.b)
    return ids.pair_id(ids.prompt_id(external.prompt), hash_a, hash_b), hash_a, hash_b
