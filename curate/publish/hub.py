"""Publish a release to the Hugging Face Hub: stage a folder, check it, upload it in one commit.

``stage`` writes exactly what would be uploaded: the Hub-layout Parquet export, the dataset
card and its plots; ``validate`` proves the folder loads with ``datasets`` as the card says. ``publish`` refuses a release without a license, and one whose staged
files hold PII or secrets (emails, phone numbers, API keys and tokens) unless the hits are
acknowledged; ``--dry-run DIR`` runs every check on a folder it leaves for inspection and
uploads nothing. The upload is one ``create_commit`` (which also deletes files a previous
release left in the repo, so the repo equals the staged folder) followed by a tag named after
the release. The token comes from ``HF_TOKEN`` only, is passed to the client and nowhere
else: never written to the folder, a table, the card or a log line.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import assets
from curate.errors import ConfigError, CurateError, Terminal, Transient
from curate.publish import card
from curate.publish.facts import ReleaseFacts, collect
from curate.release import export
from curate.release.config import ExportConfig
from curate.warehouse import Warehouse

if TYPE_CHECKING:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

TOKEN_ENV = "HF_TOKEN"
ENDPOINT_ENV = "HF_ENDPOINT"
_TEXT_SUFFIXES = {".md", ".txt", ".json", ".jsonl", ".yaml", ".yml", ".csv"}
_KEEP_IN_REPO = {".gitattributes"}
_REQUIRED_COLUMNS = ("prompt", "chosen", "rejected")
_SCAN_BATCH_ROWS = 50_000


class PublishRefused(Terminal, CurateError):
    """A release failed a publishing check (no license, unacknowledged PII)."""

    exit_code = 7


class PublishFailed(Transient, CurateError):
    """The Hub rejected or could not take the upload; nothing was tagged."""


@dataclass(frozen=True)
class PiiHit:
    """One pattern match in a staged file; ``excerpt`` is redacted, never the full match."""

    file: str
    row: int
    column: str
    kind: str
    excerpt: str


@dataclass(frozen=True)
class PublishResult:
    repo: str
    tag: str
    files: list[str]
    splits: dict[str, list[str]]
    pii_hits: int
    dry_run_dir: Path | None
    commit_url: str | None


def stage(wh: Warehouse, name: str, out_dir: Path, cfg: card.CardConfig | None = None, *, facts: ReleaseFacts | None = None) -> list[str]:
    """Write the Hub folder of release ``name`` (data shards, README.md, plots) into an empty ``out_dir``;
    returns its files, relative paths sorted: exactly what an upload sends."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"staging folder {out_dir} is not empty; give a new or empty folder so it holds exactly the upload",
                          path=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    export.run(wh, ExportConfig(release=name, format="hub", out_dir=str(out_dir)))
    card.write(wh, name, out_dir, cfg, facts=facts)
    return staged_files(out_dir)


def staged_files(folder: Path) -> list[str]:
    """Every file under ``folder`` as a sorted POSIX path relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file())


def validate(folder: Path) -> dict[str, list[str]]:
    """Check the staged folder the way the Hub and ``datasets`` will read it: the card metadata parses, and the
    folder loads (streamed, one row per split) with the card's splits and TRL's columns. Returns split -> columns."""
    from datasets import load_dataset

    metadata = card.load_metadata(Path(folder) / "README.md")
    declared = [f["split"] for c in metadata.configs or [] for f in c.get("data_files", [])]
    try:
        loaded = load_dataset(str(folder), streaming=True)
        columns = {split: list(next(iter(data)).keys()) for split, data in loaded.items()}
    except Exception as exc:  # noqa: BLE001  (whatever datasets raises, the folder does not load)
        raise PublishRefused(f"the staged folder does not load with datasets: {type(exc).__name__}: {exc}", path=folder) from exc
    missing = [c for c in _REQUIRED_COLUMNS for cols in columns.values() if c not in cols]
    if sorted(columns) != sorted(declared) or missing:
        raise PublishRefused(f"the staged folder loads splits {sorted(columns)} (card declares {sorted(declared)}), "
                             f"missing columns {sorted(set(missing))}", path=folder)
    return columns


def upload_plan(folder: Path, existing: list[str] | tuple[str, ...] = ()) -> list[CommitOperationAdd | CommitOperationDelete]:
    """The operations of the one commit: add every staged file, delete repo files the folder no longer has."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    staged = staged_files(folder)
    adds = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(Path(folder) / path)) for path in staged]
    stale = sorted(set(existing) - set(staged) - _KEEP_IN_REPO)
    return [*adds, *(CommitOperationDelete(path_in_repo=path) for path in stale)]


def scan_pii(folder: Path) -> list[PiiHit]:
    """Pattern hits in every Parquet shard (row and column of each string value, message contents included)
    and every text file (line numbers as rows) under ``folder``."""
    hits: list[PiiHit] = []
    for path in sorted(Path(folder).rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.suffix == ".parquet":
            hits += _scan_parquet(path, relative)
        elif path.suffix in _TEXT_SUFFIXES:
            for line_no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
                hits += [PiiHit(relative, line_no, "text", kind, _redact(m)) for kind, m in _matches(line)]
    return hits


def summarize_hits(hits: list[PiiHit], limit: int = 10) -> str:
    """Counts per kind and per file and column, then the first ``limit`` locations (redacted)."""
    kinds = ", ".join(f"{k}={n}" for k, n in Counter(h.kind for h in hits).most_common())
    places = ", ".join(f"{f}:{c}={n}" for (f, c), n in Counter((h.file, h.column) for h in hits).most_common())
    first = "; ".join(f"{h.file} row {h.row} {h.column}: {h.kind} {h.excerpt}" for h in hits[:limit])
    return f"{len(hits)} hits ({kinds}) in {places}; first: {first}"


def publish(wh: Warehouse, name: str, *, repo: str, dry_run_dir: Path | None = None, acknowledge_pii: bool = False,
            cfg: card.CardConfig | None = None, facts: ReleaseFacts | None = None) -> PublishResult:
    """Stage release ``name``, check it, and (unless ``dry_run_dir``) upload it to dataset repo ``repo``, tagged ``name``.
    ``facts``: the release's facts when the caller has collected them already (the report reads the same)."""
    cfg = (cfg or card.CardConfig()).model_copy(update={"repo": (cfg and cfg.repo) or repo})
    facts = facts or collect(wh, name)
    if not card.dataset_license(facts, cfg):
        raise PublishRefused("refusing to publish without a license: set `license` in the release policy "
                             "or in the card config section", release=name)
    token = None if dry_run_dir else _token()
    with tempfile.TemporaryDirectory(prefix=f"curate-publish-{name}-") as scratch:
        folder = Path(dry_run_dir) if dry_run_dir else Path(scratch)
        staged = stage(wh, name, folder, cfg, facts=facts)
        splits = validate(folder)
        hits = scan_pii(folder)
        if hits and not acknowledge_pii:
            kept = f"; staged folder kept at {folder}" if dry_run_dir else ""
            raise PublishRefused(f"PII scan found {summarize_hits(hits)}{kept}. Remove those pairs (e.g. leave their "
                                 "source out in the release policy) or review them and pass --acknowledge-pii", release=name)
        commit_url = None if token is None else _upload(folder, repo=repo, tag=name, token=token)
    return PublishResult(repo=repo, tag=name, files=staged, splits=splits, pii_hits=len(hits),
                         dry_run_dir=Path(dry_run_dir) if dry_run_dir else None, commit_url=commit_url)


def _upload(folder: Path, *, repo: str, tag: str, token: str) -> str:
    """The network part, kept thin: ensure the repo, one commit with every file, then the tag."""
    from huggingface_hub import HfApi

    api = HfApi(token=token, endpoint=os.environ.get(ENDPOINT_ENV))
    try:
        api.create_repo(repo, repo_type="dataset", exist_ok=True)
        existing = api.list_repo_files(repo, repo_type="dataset")
        commit = api.create_commit(repo, repo_type="dataset", operations=upload_plan(folder, existing),
                                   commit_message=f"curate release {tag}")
        api.create_tag(repo, repo_type="dataset", tag=tag, revision=commit.oid, tag_message=f"curate release {tag}")
    except Exception as exc:  # noqa: BLE001  (any client or network failure becomes one clean error)
        # Not chained: a chained traceback would print the client's message unredacted.
        message = str(exc).replace(token, "***")
        raise PublishFailed(f"upload to the Hub failed: {type(exc).__name__}: {message}", repo=repo, release=tag) from None
    return commit.commit_url


def _token() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(f"set {TOKEN_ENV} to a Hugging Face write token to publish (or use --dry-run DIR)")
    return token


def _scan_parquet(path: Path, relative: str) -> list[PiiHit]:
    """Vectorized first pass (RE2 over whole columns of a batch), then Python's re only on the values that matched.
    Reads the shard in batches, so memory stays bounded by one batch."""
    hits = []
    offset = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=_SCAN_BATCH_ROWS):
        for column in batch.schema.names:
            for field_name, strings, rows in _leaves(column, batch.column(column), pa.array(range(offset, offset + batch.num_rows))):
                for kind, pattern in _patterns().items():
                    for i in pc.indices_nonzero(pc.match_substring_regex(strings, pattern.pattern)).to_pylist():
                        m = pattern.search(strings[i].as_py())
                        hits.append(PiiHit(relative, rows[i].as_py(), field_name, kind, _redact(m.group(0) if m else "")))
        offset += batch.num_rows
    return hits


def _leaves(name: str, array: pa.Array, rows: pa.Array):
    """(field path, string values, their row numbers) for every string inside ``array`` (lists and structs opened)."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        yield name, array, rows
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        parents = pc.list_parent_indices(array)
        yield from _leaves(f"{name}[]", pc.list_flatten(array), pc.take(rows, parents))
    elif pa.types.is_struct(kind):
        for i in range(kind.num_fields):
            yield from _leaves(f"{name}.{kind.field(i).name}", pc.struct_field(array, [i]), rows)


def _matches(text: str):
    for kind, pattern in _patterns().items():
        for m in pattern.finditer(text):
            yield kind, m.group(0)


def _redact(found: str) -> str:
    """Enough to find the hit again, never the value: the first 3 characters and the length."""
    return f"{found[:3]}… ({len(found)} chars)"


@cache
def _patterns() -> dict[str, re.Pattern]:
    return {kind: re.compile(pattern) for kind, pattern in assets.load_yaml("assets/pii.yaml").items()}
