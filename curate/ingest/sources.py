"""Reading sources row by row: files, directories, globs and ``hf://`` datasets.

A source is resolved to a list of :class:`SourceFile`. Reading one yields
:class:`RawRow` objects in file order, each with its 0-based row index, the
raw text and either the parsed record or the reason it could not be read.
Nothing is skipped except blank lines in JSONL, which are not rows. A file
that breaks off (truncated or corrupt gzip, a damaged Parquet file) keeps the
rows read before the break, and the break itself becomes one more row,
rejected as ``unreadable_source`` with the error and where it struck.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

from curate.errors import SourceError
from schemas import RejectReason

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv"}
HF_SCHEME = "hf://"


@dataclass(frozen=True)
class SourceFile:
    """One readable unit: a local file or a Hugging Face dataset split."""

    address: str
    format: str
    hf_config: str | None = None
    hf_split: str | None = None


@dataclass(slots=True)
class RawRow:
    source_file: str
    source_row: int
    raw: str
    record: dict | None = None
    reason: RejectReason | None = None
    detail: str | None = None


def resolve(spec: str, exclude: Path | None = None) -> list[SourceFile]:
    """Turn a path, directory, glob or ``hf://org/name?config=C&split=S`` into readable sources.

    Files under ``exclude`` (the warehouse itself) are never sources, so ingesting a
    directory that contains the warehouse does not read back its own Parquet files.
    """
    if spec.startswith(HF_SCHEME):
        return [_resolve_hf(spec)]
    if any(ch in spec for ch in "*?["):
        paths = sorted(Path(p) for p in glob.glob(spec, recursive=True))
    elif Path(spec).is_dir():
        paths = sorted(p for p in Path(spec).rglob("*") if p.is_file())
    elif Path(spec).exists():
        paths = [Path(spec)]
    else:
        raise SourceError(f"source not found: {spec}", source=spec)
    if exclude is not None:
        paths = [p for p in paths if not p.resolve().is_relative_to(exclude)]
    files = [SourceFile(str(p), fmt) for p in paths if (fmt := _format_of(p)) and p.is_file()]
    if not files:
        raise SourceError(f"no readable files (jsonl, json, parquet, csv, tsv; gzip too) in {spec}", source=spec)
    return files


def read(source: SourceFile, *, max_row_bytes: int) -> Iterator[RawRow]:
    """Yield every row of a source in order."""
    readers = {
        "jsonl": _read_jsonl,
        "json": _read_json,
        "parquet": _read_parquet,
        "csv": _read_csv,
        "tsv": _read_csv,
        "hf": _read_hf,
    }
    next_row = 0
    try:
        for row in readers[source.format](source, max_row_bytes):
            next_row = row.source_row + 1
            yield row
    except (EOFError, zlib.error, gzip.BadGzipFile, Unreadable) as exc:
        yield _break_row(source.address, next_row, exc)
    except OSError as exc:
        raise SourceError(f"cannot read {source.address}: {exc}", source=source.address) from exc


class Unreadable(Exception):
    """A reader's own word for data that breaks off or is corrupt (a damaged Parquet file)."""


def _break_row(address: str, index: int, exc: BaseException) -> RawRow:
    cause = exc.__cause__ if isinstance(exc, Unreadable) and exc.__cause__ else exc
    error = " ".join(f"{type(cause).__name__}: {exc}".split())
    kept = "the rows before it are kept" if index else "no row could be read before it"
    detail = f"the file breaks off at row {index}, {kept}: {error}"
    return RawRow(address, index, "", None, RejectReason.UNREADABLE_SOURCE, detail)


def _format_of(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


def _open_binary(address: str) -> io.BufferedIOBase:
    return gzip.open(address, "rb") if address.endswith(".gz") else open(address, "rb")


def _parse_line(address: str, index: int, line: bytes, max_row_bytes: int) -> RawRow:
    raw = line.decode("utf-8", "backslashreplace")
    if len(line) > max_row_bytes:
        return RawRow(address, index, raw, None, RejectReason.TOO_LARGE, f"{len(line)} bytes > {max_row_bytes}")
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            return RawRow(address, index, raw, None, RejectReason.INVALID_UTF8, str(bad))
        return RawRow(address, index, raw, None, RejectReason.MALFORMED_JSON, str(exc))
    return _as_record(address, index, raw, record)


def _as_record(address: str, index: int, raw: str, record: object) -> RawRow:
    if not isinstance(record, dict):
        return RawRow(address, index, raw, None, RejectReason.NOT_AN_OBJECT, f"got {type(record).__name__}")
    return RawRow(address, index, raw, record)


def _read_jsonl(source: SourceFile, max_row_bytes: int) -> Iterator[RawRow]:
    with _open_binary(source.address) as fh:
        for index, line in enumerate(fh):
            line = line.rstrip(b"\r\n")
            if index == 0:
                line = line.removeprefix(codecs.BOM_UTF8)
            if line.strip():
                yield _parse_line(source.address, index, line, max_row_bytes)


def _read_json(source: SourceFile, max_row_bytes: int) -> Iterator[RawRow]:
    """A JSON array of objects, an object holding one such array, or JSONL misnamed ``.json``."""
    with _open_binary(source.address) as fh:
        data = fh.read()
    try:
        document = orjson.loads(data.removeprefix(codecs.BOM_UTF8))
    except orjson.JSONDecodeError:
        yield from _read_jsonl(SourceFile(source.address, "jsonl"), max_row_bytes)
        return
    if isinstance(document, dict):
        arrays = [v for v in document.values() if isinstance(v, list)]
        document = arrays[0] if len(arrays) == 1 else [document]
    if not isinstance(document, list):
        document = [document]
    for index, item in enumerate(document):
        raw = orjson.dumps(item).decode()
        if len(raw) > max_row_bytes:
            yield RawRow(source.address, index, raw, None, RejectReason.TOO_LARGE, f"{len(raw)} bytes > {max_row_bytes}")
        else:
            yield _as_record(source.address, index, raw, item)


def _read_parquet(source: SourceFile, max_row_bytes: int) -> Iterator[RawRow]:
    """Rows of a Parquet file (a gzipped one is decompressed into memory first: Parquet needs to seek)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = 0
    try:
        if source.address.endswith(".gz"):
            with _open_binary(source.address) as fh:
                parquet = pq.ParquetFile(pa.BufferReader(fh.read()))
        else:
            parquet = pq.ParquetFile(source.address)
        for batch in parquet.iter_batches(batch_size=10_000):
            for record in batch.to_pylist():
                yield _record_row(source.address, index, record, max_row_bytes)
                index += 1
    except pa.ArrowException as exc:
        raise Unreadable(str(exc)) from exc


def _read_csv(source: SourceFile, max_row_bytes: int) -> Iterator[RawRow]:
    """Rows of a CSV or TSV file; a row the CSV parser refuses (a cell over the size limit) is rejected alone."""
    delimiter = "\t" if source.format == "tsv" else ","
    csv.field_size_limit(max(csv.field_size_limit(), max_row_bytes))  # process-wide; larger cells are too_large
    with _open_binary(source.address) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Unreadable(f"the header row cannot be parsed: {exc}") from exc
        for index, cells in enumerate(_csv_records(reader)):
            if isinstance(cells, csv.Error):
                reason = RejectReason.TOO_LARGE if "field larger" in str(cells) else RejectReason.MALFORMED_CSV
                yield RawRow(source.address, index, "", None, reason, f"line {reader.line_num}: {cells}")
                continue
            raw_text = delimiter.join(cells)
            raw = raw_text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            if raw_text != raw:
                yield RawRow(source.address, index, raw, None, RejectReason.INVALID_UTF8, "cell holds invalid UTF-8")
            elif len(cells) != len(header):
                detail = f"{len(cells)} cells for {len(header)} columns"
                yield RawRow(source.address, index, raw, None, RejectReason.MALFORMED_CSV, detail)
            else:
                yield _record_row(source.address, index, dict(zip(header, cells)), max_row_bytes)


def _csv_records(reader) -> Iterator[list[str] | csv.Error]:
    """The reader's records, with a parse error in place of a record it refuses (it reads on after one)."""
    failed_at = None
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num == failed_at:  # no progress: the rest of the file cannot be parsed
                raise Unreadable(f"line {reader.line_num}: {exc}") from exc
            failed_at = reader.line_num
            yield exc


def _record_row(address: str, index: int, record: dict, max_row_bytes: int) -> RawRow:
    raw = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    if len(raw) > max_row_bytes:
        return RawRow(address, index, raw, None, RejectReason.TOO_LARGE, f"{len(raw)} bytes > {max_row_bytes}")
    return RawRow(address, index, raw, record)


def _resolve_hf(spec: str) -> SourceFile:
    parts = urlsplit(spec)
    name = (parts.netloc + parts.path).rstrip("/")
    if not name:
        raise SourceError(f"no dataset named in {spec!r}: use hf://org/name?config=C&split=S", source=spec)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"config", "split"}
    if unknown:
        raise SourceError(f"unknown hf:// options {sorted(unknown)}: only config and split", source=spec)
    split = query.get("split", "train")
    config = query.get("config")
    address = f"{HF_SCHEME}{name}" + (f"?config={config}&split={split}" if config else f"?split={split}")
    return SourceFile(address, "hf", hf_config=config, hf_split=split)


def _read_hf(source: SourceFile, max_row_bytes: int) -> Iterator[RawRow]:
    """Rows of a Hugging Face dataset split, through ``datasets.load_dataset`` (a local folder works too)."""
    import datasets

    name = urlsplit(source.address)
    path = (name.netloc + name.path).rstrip("/")
    try:
        dataset = datasets.load_dataset(path, source.hf_config, split=source.hf_split)
    except Exception as exc:  # datasets raises many types: network, missing config, missing split
        raise SourceError(f"cannot load {source.address}: {exc}", source=source.address) from exc
    for index, record in enumerate(dataset):
        yield _record_row(source.address, index, record, max_row_bytes)
