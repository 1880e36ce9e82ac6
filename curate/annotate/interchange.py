"""Annotation exports made elsewhere, read as verdicts: Label Studio JSON exports and Argilla 2.x records.

``read_export(path)`` yields one :class:`External` per annotation that states a preference (of response ``a``
over ``b``, -3..3) and one :class:`BadRecord`, with a reason code, per record or annotation that cannot be
read: a bad record never stops the rest. Records without any annotation yield nothing. The format is read
from the first records unless named; a file that is neither raises ``SourceError``.

Pure: no warehouse. The records are parsed by the ingest adapters of the same names, so a verdict names
its comparison exactly as the pair that ``curate ingest FILE --format label-studio`` made of the record.
An Argilla export may be the folder ``Dataset.to_disk`` writes (``records.json``, ``.argilla/settings.json``)
or a records file; the settings, when found beside it, give the range of a rating on a preference scale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

import orjson

from curate.errors import ConfigError, SourceError
from curate.ingest import sources
from curate.ingest.adapters import argilla, label_studio
from curate.ingest.adapters.annotated import Annotated, External
from curate.ingest.adapters.fields import Reject
from schemas import RejectReason

AUTO = "auto"
FORMATS = (label_studio.NAME, argilla.NAME)
RECORDS_FILE = "records.json"  # what Argilla's Dataset.to_disk writes, beside .argilla/
SETTINGS_FILE = Path(".argilla") / "settings.json"
_SAMPLE = 50  # records read to detect the format
_MAX_RECORD_BYTES = 64 << 20  # a task with many annotations is large; only a runaway one is rejected

__all__ = ["AUTO", "FORMATS", "BadRecord", "External", "detect_format", "export_format", "read_export"]


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record (or one of its annotations) that gave no verdict, and why."""

    row: int  # the record's 0-based index in the file
    reason: RejectReason
    detail: str


_DETECT: dict[str, Callable[[dict], bool]] = {label_studio.NAME: label_studio.is_task, argilla.NAME: argilla.is_record}


def detect_format(records: list[dict]) -> str | None:
    """The format most of ``records`` are in (Label Studio first on a tie), or None when none is."""
    hits = {name: sum(1 for r in records if detect(r)) for name, detect in _DETECT.items()}
    best = max(hits, key=hits.__getitem__)
    return best if hits[best] else None


def export_format(path: str | Path, format: str = AUTO) -> str:
    """The export's format: ``format`` when named, else read from its first records."""
    if format != AUTO:
        if format not in FORMATS:
            raise ConfigError(f"unknown export format {format!r}; known: {', '.join(FORMATS)}", path=path)
        return format
    records_file, _ = _locate(Path(path))
    head = [r.record for r in islice(_rows(records_file), _SAMPLE) if r.record is not None]
    found = detect_format(head)
    if found is None:
        raise SourceError(f"{path} is neither a Label Studio JSON export (tasks with data and annotations) nor Argilla "
                          "records (fields and responses)", source=str(path))
    return found


def read_export(path: str | Path, format: str = AUTO) -> Iterator[External | BadRecord]:
    """Every verdict of the export at ``path`` (a file, or an Argilla ``to_disk`` folder), and every bad record.
    The format and the file are checked here, before the first item: an unreadable export raises at the call."""
    path = Path(path)
    found = export_format(path, format)
    records_file, scales = _locate(path)
    return _items(_rows(records_file), found, scales)


def _items(rows: Iterator[sources.RawRow], format: str, scales: argilla.Scales) -> Iterator[External | BadRecord]:
    detect = _DETECT[format]
    for raw in rows:
        if raw.record is None:
            yield BadRecord(raw.source_row, raw.reason, raw.detail)
            continue
        if not detect(raw.record):
            keys = ", ".join(sorted(map(str, raw.record))[:12])
            yield BadRecord(raw.source_row, RejectReason.UNKNOWN_FORMAT, f"not a {format} record: keys [{keys}]")
            continue
        try:
            parsed = _parse(raw.record, format, scales)
        except Reject as rej:
            yield BadRecord(raw.source_row, rej.reason, rej.detail)
            continue
        for problem in parsed.problems:
            yield BadRecord(raw.source_row, problem.reason, problem.detail)
        yield from parsed.externals()


def _parse(record: dict, format: str, scales: argilla.Scales) -> Annotated:
    return label_studio.parse_task(record) if format == label_studio.NAME else argilla.parse_record(record, scales)


def _rows(records_file: Path) -> Iterator[sources.RawRow]:
    fmt = _file_format(records_file)
    rows = sources.read(sources.SourceFile(str(records_file), fmt), max_row_bytes=_MAX_RECORD_BYTES)
    first = next(rows, None)  # a file that cannot be opened raises SourceError here, not mid-import
    return chain([first], rows) if first is not None else iter(())


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = sources.FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt not in ("json", "jsonl", "parquet"):
        raise SourceError(f"{path}: an export is a .json, .jsonl or .parquet file (gzip too), or an Argilla to_disk folder",
                          source=str(path))
    return fmt


def _locate(path: Path) -> tuple[Path, argilla.Scales]:
    """The records file of an export and the rating scales of its Argilla settings, when they are beside it."""
    if not path.exists():
        raise SourceError(f"no such export: {path}", source=str(path))
    records_file = path / RECORDS_FILE if path.is_dir() else path
    if not records_file.is_file():
        raise SourceError(f"{path} is a folder without {RECORDS_FILE} (what Argilla's Dataset.to_disk writes)", source=str(path))
    settings = records_file.parent / SETTINGS_FILE
    return records_file, _scales(settings) if settings.is_file() else {}


def _scales(settings: Path) -> argilla.Scales:
    """Rating questions' (lowest, highest) values from Argilla settings (``values``, or ``settings.options``)."""
    try:
        document = orjson.loads(settings.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SourceError(f"cannot read the Argilla settings {settings}: {exc}", source=str(settings)) from exc
    questions = document.get("questions") if isinstance(document, dict) else None
    scales = {}
    for question in questions if isinstance(questions, list) else []:
        if not isinstance(question, dict) or not isinstance(question.get("name"), str):
            continue
        inner = question.get("settings") if isinstance(question.get("settings"), dict) else {}
        if (question.get("type") or inner.get("type")) != "rating":
            continue
        values = question.get("values") or [o.get("value") for o in inner.get("options") or [] if isinstance(o, dict)]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) >= 2:
            scales[question["name"]] = (min(numbers), max(numbers))
    return scales
