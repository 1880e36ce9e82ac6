"""Ingest: raw preference rows in, canonical pairs out, every row accounted for.

Each input row ends as exactly one of accepted, duplicate, conflict or
rejected (``schemas.Outcome``), and ``raw_rows`` keeps it as read with that
outcome, so the run reconciles: rows in = accepted + duplicates + conflicts +
rejected. A comparison already stored is never overwritten: the same label
again is a duplicate, a contradicting one goes to ``conflicts``.

The whole run is one DuckLake snapshot whose commit message carries the run
id. Rows stream through in batches, so memory stays bounded whatever the
input size; only the ids of known pairs are held, to find duplicates.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

import orjson

from curate import ids
from curate.errors import NoValidRows
from curate.ingest import language, sources
from curate.ingest.adapters import (
    Adapter,
    Candidate,
    Options,
    Reject,
    apply_column_map,
    detect_adapter,
    get_adapter,
    score_pairs,
)
from curate.ingest.config import IngestConfig
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import Transaction, Warehouse
from schemas import CONFLICTS, PAIRS, RAW_ROWS, ConflictKind, Outcome, PairKind, RejectReason

STAGE = "ingest"
READS = (PAIRS,)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""
_TIE = ""  # label of a tie in the known-labels map (a real label is the chosen response's hash)


@dataclass(slots=True)
class _Pair:
    """A candidate with its ids and, once deduplicated, its outcome."""

    candidate: Candidate
    prompt_id: str
    chosen_hash: str
    rejected_hash: str
    pair_id: str
    outcome: Outcome | None = None
    conflict: ConflictKind | None = None
    written: bool = False  # a group's pair is shared by two rows: write it (or its conflict) once


@dataclass(slots=True)
class _Row:
    raw: sources.RawRow
    adapter: str | None
    pairs: list[_Pair] = field(default_factory=list)
    reason: RejectReason | None = None
    detail: str | None = None


def run(wh: Warehouse, cfg: IngestConfig, progress: Callable[[int], None] | None = None) -> StageResult:
    """Ingest ``cfg.source`` into the warehouse as one snapshot. When every row is rejected, the rejects
    are still committed (``raw_rows`` says why) and ``NoValidRows`` is raised with the result attached."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    files = sources.resolve(cfg.source, exclude=wh.path)
    forced = get_adapter(cfg.format) if cfg.format else None

    def write(tx: Transaction) -> Counts:
        tally: Counter = Counter()
        writer = _Writer(tx, stage_run.started_at)
        languages: dict[str, str] = {}
        known = dict(tx.execute(f"SELECT pair_id, CASE WHEN tie THEN '{_TIE}' ELSE chosen_hash END FROM {PAIRS.name}").fetchall())
        for source_file in files:
            rows = _rows(source_file, cfg, forced)
            while batch := list(islice(rows, cfg.batch_rows)):
                _resolve(batch, known)
                if cfg.detect_language:
                    _detect_languages(batch, languages)
                writer.write(batch, _source_name(cfg, source_file), tally)
                if progress:
                    progress(len(batch))
        return _counts(tally)

    with _fewer_gc_passes():
        result = stage_run.commit(wh, write, message=f"ingest {cfg.source}")
    if result.rows_in == result.outcomes[Outcome.REJECTED]:
        reasons = ", ".join(f"{k}={v}" for k, v in result.dropped.items()) or "no rows found"
        error = NoValidRows(f"no valid row in {cfg.source}: {reasons}; see {RAW_ROWS.name}", run_id=result.run_id)
        error.result = result
        raise error
    return result


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Ingest allocates millions of short-lived objects next to a large, long-lived id map;
    the default GC thresholds rescan that map over and over (a third of the run time)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _counts(tally: Counter) -> Counts:
    """Every row has one outcome; a rejected row's reason is counted as dropped (and as an error)."""
    outcomes = {o.value: tally[o] for o in Outcome}
    rejected = {k.removeprefix("reason:"): v for k, v in sorted(tally.items()) if str(k).startswith("reason:")}
    return Counts(rows_in=sum(outcomes.values()), rows_written=tally["pairs"], dropped=rejected,
                  error_count=outcomes[Outcome.REJECTED], outcomes=outcomes)


def _source_name(cfg: IngestConfig, source_file: sources.SourceFile) -> str:
    if cfg.source_name:
        return cfg.source_name
    if source_file.format == "hf":
        return source_file.address.removeprefix(sources.HF_SCHEME).split("?")[0]
    return Path(source_file.address).name.split(".")[0]


def _rows(source_file: sources.SourceFile, cfg: IngestConfig, forced: Adapter | None) -> Iterator[_Row]:
    """Rows of one file with their candidate pairs (or reject reason), in file order."""
    raw_rows = sources.read(source_file, max_row_bytes=cfg.max_row_bytes)
    head = list(islice(raw_rows, cfg.sample_rows))
    adapter = forced or detect_adapter([apply_column_map(r.record, cfg.column_map) for r in head if r.record is not None])
    options = Options(include_ties=cfg.include_ties)
    rows = (_convert(raw, adapter, cfg.column_map, options) for raw in chain(head, raw_rows))
    yield from _group_rows(rows, adapter, options) if adapter and adapter.grouped else rows


def _convert(raw: sources.RawRow, adapter: Adapter | None, column_map: dict, options: Options) -> _Row:
    if raw.record is None:
        return _Row(raw, None, reason=raw.reason, detail=raw.detail)
    if adapter is None:
        keys = ", ".join(sorted(map(str, raw.record))[:12])
        return _Row(raw, None, reason=RejectReason.UNKNOWN_FORMAT, detail=f"no adapter recognizes keys [{keys}]; use --format or --map")
    row = _Row(raw, adapter.name)
    try:
        record = apply_column_map(raw.record, column_map)
        if adapter.grouped:
            row.pairs = [adapter.to_response(record)]  # paired later, with the rest of its group
        else:
            row.pairs = [_with_ids(c) for c in adapter.convert(record, options)]
    except Reject as rej:
        row.pairs, row.reason, row.detail = [], rej.reason, rej.detail
    return row


def _group_rows(rows: Iterator[_Row], adapter: Adapter, options: Options) -> Iterator[_Row]:
    """Consecutive rows with the same prompt form a group; pairs are formed inside it, shared by its rows."""
    group: list[_Row] = []
    key = None
    for row in chain(rows, [None]):
        row_key = ids.prompt_id(row.pairs[0].prompt) if row and row.pairs else None
        if group and (row is None or row_key != key):
            yield from _pair_group(group, options)
            group = []
        if row is None:
            break
        if row_key is None:
            yield row
        else:
            group.append(row)
            key = row_key


def _pair_group(group: list[_Row], options: Options) -> list[_Row]:
    """Each row keeps the pairs its own response is in; a row whose response is in none is rejected
    with the reason (``equal_ratings``, ``identical_responses``, ``unpaired_response``)."""
    scored, rejects = score_pairs([row.pairs[0] for row in group], options)
    for row in group:
        row.pairs = []
    for chosen, rejected, candidate in scored:
        pair = _with_ids(candidate)  # responses were compared by content hash: never identical here
        group[chosen].pairs.append(pair)
        group[rejected].pairs.append(pair)
    for row, reject in zip(group, rejects):
        if reject is not None:
            row.reason, row.detail = reject.reason, reject.detail
    return group


def _with_ids(candidate: Candidate) -> _Pair:
    prompt_id = ids.prompt_id(candidate.prompt)
    chosen_hash = ids.content_hash(candidate.chosen)
    rejected_hash = ids.content_hash(candidate.rejected)
    if chosen_hash == rejected_hash:
        raise Reject(RejectReason.IDENTICAL_RESPONSES, "chosen and rejected are the same text")
    return _Pair(candidate, prompt_id, chosen_hash, rejected_hash, ids.pair_id(prompt_id, chosen_hash, rejected_hash))


def _resolve(batch: list[_Row], known: dict[str, str]) -> None:
    """Decide each pair's outcome against every label seen so far (stored or earlier in this run)."""
    for row in batch:
        for pair in row.pairs:
            if pair.outcome is not None:  # shared by a group, already decided
                continue
            label = _TIE if pair.candidate.tie else pair.chosen_hash
            stored = known.get(pair.pair_id)
            if stored is None:
                known[pair.pair_id] = label
                pair.outcome = Outcome.ACCEPTED
            elif stored == label:
                pair.outcome = Outcome.DUPLICATE
            else:
                pair.outcome = Outcome.CONFLICT
                pair.conflict = (
                    ConflictKind.TIE if label == _TIE else ConflictKind.PREFERENCE if stored == _TIE else ConflictKind.REVERSED
                )


def _detect_languages(batch: list[_Row], cache: dict[str, str]) -> None:
    """Fill in the language of new pairs that lack one, once per prompt."""
    todo = [p for row in batch for p in row.pairs if p.outcome is Outcome.ACCEPTED and not p.candidate.language]
    unseen = {p.prompt_id: p.candidate for p in todo if p.prompt_id not in cache}
    samples = [language.pair_sample(c.prompt, c.chosen) for c in unseen.values()]
    cache.update(zip(unseen, language.detect(samples)))
    for pair in todo:
        pair.candidate.language = cache[pair.prompt_id]
        pair.candidate.language_detected = True
    if len(cache) > 500_000:  # bound memory on huge runs; a miss only costs a re-detection
        cache.clear()


def _row_outcome(row: _Row) -> Outcome:
    if row.reason is not None:
        return Outcome.REJECTED
    outcomes = {p.outcome for p in row.pairs}
    for outcome in (Outcome.ACCEPTED, Outcome.CONFLICT, Outcome.DUPLICATE):
        if outcome in outcomes:
            return outcome
    raise AssertionError("a row without a reason has pairs")


_DETAIL = {
    Outcome.ACCEPTED: "new pair",
    Outcome.DUPLICATE: "same comparison and label already stored",
    Outcome.CONFLICT: "contradicts the stored label; recorded in conflicts",
}


class _Writer:
    """Turns resolved batches into table rows and appends them inside the run's transaction."""

    def __init__(self, tx: Transaction, now) -> None:
        self.tx, self.run_id, self.now = tx, tx.run_id, now

    def write(self, batch: list[_Row], source: str, tally: Counter) -> None:
        pairs, conflicts, raws = [], [], []
        for row in batch:
            outcome = _row_outcome(row)
            tally[outcome] += 1
            if row.reason is not None:
                tally[f"reason:{row.reason}"] += 1
            raws.append(self._raw_row(row, source, outcome))
            for pair in row.pairs:
                if pair.written:  # a group's pair is held by both of its rows: recorded once
                    continue
                pair.written = True
                if pair.outcome is Outcome.ACCEPTED:
                    pairs.append(self._pair_row(pair, row, source))
                elif pair.outcome is Outcome.CONFLICT:
                    conflicts.append(self._conflict_row(pair, row, source))
        tally["pairs"] += len(pairs)
        self.tx.append(PAIRS, pairs)
        self.tx.append(CONFLICTS, conflicts)
        self.tx.append(RAW_ROWS, raws)

    def _raw_row(self, row: _Row, source: str, outcome: Outcome) -> dict:
        return {
            "source": source,
            "source_file": row.raw.source_file,
            "source_row": row.raw.source_row,
            "run_id": self.run_id,
            "adapter": row.adapter,
            "outcome": outcome.value,
            "reason": row.reason.value if row.reason else None,
            "detail": row.detail if row.reason else _DETAIL[outcome],
            "pair_ids": [p.pair_id for p in row.pairs] or None,
            "raw": row.raw.raw,
        }

    def _pair_row(self, pair: _Pair, row: _Row, source: str) -> dict:
        c = pair.candidate
        return {
            "pair_id": pair.pair_id,
            "prompt_id": pair.prompt_id,
            "prompt": [{"role": role, "content": content} for role, content in c.prompt],
            "chosen": {"role": "assistant", "content": c.chosen},
            "rejected": {"role": "assistant", "content": c.rejected},
            "chosen_hash": pair.chosen_hash,
            "rejected_hash": pair.rejected_hash,
            "tie": c.tie,
            "strength": c.strength,
            "chosen_ratings": list(c.chosen_ratings.items()) if c.chosen_ratings else None,
            "rejected_ratings": list(c.rejected_ratings.items()) if c.rejected_ratings else None,
            "justification": c.justification,
            "language": c.language or language.UNDETERMINED,
            "language_detected": c.language_detected,
            "source": source,
            "source_file": row.raw.source_file,
            "source_row": row.raw.source_row,
            "annotator": c.annotator,
            "meta": orjson.dumps(c.meta, default=str, option=orjson.OPT_NON_STR_KEYS).decode() if c.meta else None,
            "kind": PairKind.ORIGINAL.value,
            "parent_pair_id": None,
            "run_id": self.run_id,
            "ingested_at": self.now,
        }

    def _conflict_row(self, pair: _Pair, row: _Row, source: str) -> dict:
        c = pair.candidate
        return {
            "pair_id": pair.pair_id,
            "kind": pair.conflict.value,
            "chosen_hash": None if c.tie else pair.chosen_hash,
            "strength": c.strength,
            "annotator": c.annotator,
            "source": source,
            "source_file": row.raw.source_file,
            "source_row": row.raw.source_row,
            "run_id": self.run_id,
        }
