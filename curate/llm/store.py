"""Where LLM outcomes live: a per-run journal file first, then the ``llm_requests`` table.

A warehouse commit per request would make the warehouse the bottleneck, and
one commit at the end would lose a killed run's answers. So each outcome is
appended to ``<warehouse>/journal/llm-<run_id>.jsonl`` the moment it arrives
(one unbuffered ``write`` per line: a killed process loses at most the line
being written), and the journal is loaded into ``llm_requests`` in one
snapshot when the client closes. A journal whose writer died is loaded by the
next client that starts. A live writer holds an exclusive ``flock`` on its
journal, which is how a later client tells a live journal from an orphan.
Cache lookups read the table and every journal on disk, so answers not yet
loaded are never asked for twice.

Loading is idempotent (rows already in the table are not added again), so a
crash between the commit and the journal's removal does no harm.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pyarrow as pa

from curate.errors import CurateError
from curate.warehouse import Warehouse, retry_on_conflict
from schemas import LLM_REQUESTS
from schemas.vocab import RequestStatus

JOURNAL_DIR = "journal"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_JSON_COLUMNS = ("request", "response")
_LOOKUP_SQL = f"""
SELECT request_hash, failures, answer IS NOT NULL AS answered, answer.text,
       CAST(json_extract(answer.response, '$.choices[0].logprobs.content') AS VARCHAR) AS logprobs,
       answer.prompt_tokens, answer.completion_tokens, answer.cost_usd
FROM (
    SELECT request_hash,
           count(*) FILTER (WHERE status <> '{RequestStatus.OK}') AS failures,
           arg_max({{'text': text, 'response': response, 'prompt_tokens': prompt_tokens,
                     'completion_tokens': completion_tokens, 'cost_usd': cost_usd}}, created_at)
               FILTER (WHERE status = '{RequestStatus.OK}') AS answer
    FROM {LLM_REQUESTS.name}
    WHERE request_hash IN (SELECT request_hash FROM _wanted)
    GROUP BY request_hash
)
"""
"""The latest ``ok`` answer per wanted hash and its failure count; the logprobs are taken out of the
response after the latest answer is picked, so only one response per hash is parsed."""


class JournalBusy(CurateError):
    """Another live client is writing the journal of the same run id."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What a cached ``ok`` outcome gives back without a network call."""

    text: str | None
    logprobs: list[dict] | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: unknown (an unpriced remote model)


def journal_dir(wh: Warehouse) -> Path:
    return wh.path / JOURNAL_DIR


def journal_path(wh: Warehouse, run_id: str) -> Path:
    return journal_dir(wh) / f"llm-{run_id}.jsonl"


class Journal:
    """This client's append-only outcome file, locked while it is open."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalBusy("another LLM client is writing this run's journal", path=path) from None

    def write(self, record: dict) -> None:
        os.write(self._fd, orjson.dumps(record) + b"\n")

    def load_and_close(self, wh: Warehouse) -> int:
        """Load the journal into ``llm_requests``, remove it (still locked, so no one loads it twice), unlock."""
        try:
            loaded = load_journals(wh, [self.path])
            self.path.unlink(missing_ok=True)
            return loaded
        finally:
            os.close(self._fd)


def recover_orphans(wh: Warehouse) -> int:
    """Load journals whose writer is gone (no lock held) into ``llm_requests``; returns rows loaded."""
    folder = journal_dir(wh)
    if not folder.is_dir():
        return 0
    held: list[tuple[Path, int]] = []
    try:
        for path in sorted(folder.glob("llm-*.jsonl")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live client's journal
                os.close(fd)
                continue
            held.append((path, fd))
        if not held:
            return 0
        loaded = load_journals(wh, [path for path, _ in held])
        for path, _ in held:
            path.unlink(missing_ok=True)
        return loaded
    finally:
        for _, fd in held:
            os.close(fd)


def read_journal(path: Path) -> list[dict]:
    """The records of one journal; a line cut short by a kill is skipped."""
    records = []
    try:
        with open(path, "rb") as fh:
            for line in fh:
                try:
                    records.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    continue
    except FileNotFoundError:
        pass
    return records


def load_journals(wh: Warehouse, paths: list[Path]) -> int:
    """Append the journals' records to ``llm_requests`` in one snapshot, skipping rows already there."""
    records = [r for path in paths for r in read_journal(path)]
    if not records:
        return 0
    run_ids = sorted({r["run_id"] for r in records})

    def commit() -> int:
        tx_id = f"{run_ids[0]}-llm-{uuid.uuid4().hex[:8]}"  # unique: staged file names derive from it
        with wh.transaction(tx_id, f"llm requests of {', '.join(run_ids)}") as tx:
            present = set(tx.execute(
                f"SELECT request_hash, attempt, epoch_us(created_at) FROM {LLM_REQUESTS.name} "
                "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [run_ids]).fetchall())
            rows = [_row(r) for r in records if (r["request_hash"], r["attempt"], r["created_us"]) not in present]
            tx.append(LLM_REQUESTS, rows)
            return len(rows)

    return retry_on_conflict(commit)


def _row(record: dict) -> dict:
    row = {name: record.get(name) for name in LLM_REQUESTS.names}
    row["created_at"] = _EPOCH + timedelta(microseconds=record["created_us"])
    for name in _JSON_COLUMNS:
        if row[name] is not None:
            row[name] = orjson.dumps(row[name]).decode()
    return row


def lookup(wh: Warehouse, hashes: list[str], *, skip: Path | None = None) -> tuple[dict[str, Answer], Counter]:
    """Cached ``ok`` answers for ``hashes`` and, for each hash, how many failures are on record.

    Journals are read before the table: a journal loaded and removed in between is then
    already in the table, so nothing slips through the gap. ``skip`` is the caller's own journal.
    """
    wanted = set(hashes)
    answers: dict[str, Answer] = {}
    failures: Counter = Counter()
    if not wanted:
        return answers, failures
    folder = journal_dir(wh)
    for path in sorted(folder.glob("llm-*.jsonl")) if folder.is_dir() else ():
        if path == skip:
            continue
        for record in read_journal(path):
            digest = record["request_hash"]
            if digest not in wanted:
                continue
            if record["status"] == RequestStatus.OK:
                answers[digest] = answer_from_record(record)
            else:
                failures[digest] += 1
    rest = wanted - answers.keys()
    if not rest:
        return answers, failures
    with wh.connect(read_only=True, views=False) as con:
        con.register("_wanted", pa.table({"request_hash": pa.array(list(rest), pa.string())}))
        for digest, failed, answered, text, logprobs, prompt_tokens, completion_tokens, cost in con.execute(_LOOKUP_SQL).fetchall():
            failures[digest] += failed
            if answered:
                answers[digest] = Answer(text, orjson.loads(logprobs) if logprobs else None, prompt_tokens or 0,
                                         completion_tokens or 0, cost)
    return answers, failures


def answer_from_record(record: dict) -> Answer:
    return Answer(record["text"], logprobs_of(record["response"]), record["prompt_tokens"] or 0,
                  record["completion_tokens"] or 0, record.get("cost_usd"))


def logprobs_of(response: dict | None) -> list[dict] | None:
    """``choices[0].logprobs.content`` of a response body, or None."""
    try:
        return response["choices"][0]["logprobs"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
