"""The adapter registry: formats by name, in detection order.

Adapters register with :func:`register_adapter` when their module is imported
(``curate.ingest.adapters`` imports them, most specific layout first, the
generic TRL layout last). A duplicate name fails at import; an unknown name
raises ``UnknownAdapterError`` listing the registered ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from curate.errors import UnknownAdapterError
from curate.ingest.adapters.fields import Candidate, Options, Response


@dataclass(frozen=True)
class Adapter:
    name: str
    detect: Callable[[dict], bool]
    convert: Callable[[dict, Options], list[Candidate]] | None = None
    to_response: Callable[[dict], Response] | None = None
    doc: str = ""

    @property
    def grouped(self) -> bool:
        return self.to_response is not None


ADAPTERS: dict[str, Adapter] = {}


def register_adapter(name: str, *, detect: Callable[[dict], bool], grouped: bool = False):
    """Register ``fn`` as adapter ``name``; a duplicate name fails at import."""

    def wrap(fn):
        if name in ADAPTERS:
            raise ValueError(f"adapter {name!r} is already registered")
        kind = {"to_response": fn} if grouped else {"convert": fn}
        ADAPTERS[name] = Adapter(name=name, detect=detect, doc=(fn.__doc__ or "").strip(), **kind)
        return fn

    return wrap


def get_adapter(name: str) -> Adapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UnknownAdapterError(f"unknown format {name!r}; known formats: {', '.join(ADAPTERS)}") from None


def detect_adapter(records: list[dict]) -> Adapter | None:
    """The adapter that recognizes the most sample records (earliest registered wins ties)."""
    best, best_hits = None, 0
    for adapter in ADAPTERS.values():
        hits = sum(1 for r in records if adapter.detect(r))
        if hits > best_hits:
            best, best_hits = adapter, hits
    return best


def apply_column_map(record: dict, column_map: dict[str, str]) -> dict:
    """Rename source columns to canonical names (``{"prompt": "question"}`` reads ``question`` as ``prompt``)."""
    if not column_map:
        return record
    mapped = {k: v for k, v in record.items() if k not in column_map.values()}
    for target, source in column_map.items():
        if source in record:
            mapped[target] = record[source]
    return mapped
