"""Table definitions: name, version, key and documented columns; the foundation tables.

A table's ``version`` goes up whenever its columns change, together with a new
numbered migration under ``warehouse/migrations``: an ``AddColumns`` step that
ALTERs the table a warehouse already has (old migration files never change).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pyarrow is loaded by the writers that build batches, not by every reader
    import pyarrow as pa

MESSAGE = "STRUCT(role VARCHAR, content VARCHAR)"
RATINGS = "MAP(VARCHAR, DOUBLE)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str


@dataclass(frozen=True)
class Table:
    name: str
    version: int
    key: tuple[str, ...]
    doc: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, catalog: str | None = None) -> str:
        """``CREATE TABLE`` statement for this table, optionally catalog-qualified."""
        target = f"{catalog}.{self.name}" if catalog else self.name
        body = ",\n".join(f"    {c.name} {c.type}" for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {target} (\n{body}\n);"

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema writers build batches with, derived from the DuckDB types."""
        select = ", ".join(f"NULL::{c.type} AS {c.name}" for c in self.columns)
        return duckdb.sql(f"SELECT {select} LIMIT 0").to_arrow_table().schema


@dataclass(frozen=True)
class AddColumns:
    """A migration step that upgrades ``previous`` to ``table`` by adding columns: ``previous``'s columns must
    be the start of ``table``'s (``ALTER TABLE ... ADD COLUMN`` appends), and the rest are added, NULL in old rows."""

    table: Table
    previous: Table

    def __post_init__(self) -> None:
        old = self.previous.columns
        if self.table.name != self.previous.name or self.table.columns[: len(old)] != old or self.table.version <= self.previous.version:
            raise ValueError(f"{self.table.name} v{self.table.version} does not extend v{self.previous.version} by new columns")

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns this step adds."""
        return self.table.columns[len(self.previous.columns):]

    @property
    def header(self) -> str:
        names = ", ".join(c.name for c in self.columns)
        return f"{self.table.name} v{self.previous.version} -> v{self.table.version}: add {names}"

    def ddl(self) -> str:
        return "\n".join(f"ALTER TABLE {self.table.name} ADD COLUMN IF NOT EXISTS {c.name} {c.type};" for c in self.columns)


LINEAGE = (
    Column("source", "VARCHAR", "name of the source dataset"),
    Column("source_file", "VARCHAR", "file or hf:// address the row came from"),
    Column("source_row", "BIGINT", "0-based row index in source_file"),
)

PAIRS = Table(
    name="pairs",
    version=1,
    key=("pair_id",),
    doc="One row per distinct comparison (prompt + unordered pair of responses), as first seen.",
    columns=(
        Column("pair_id", "VARCHAR", "hash of prompt_id and the sorted content hashes of both responses"),
        Column("prompt_id", "VARCHAR", "hash of the normalized prompt messages"),
        Column("prompt", f"{MESSAGE}[]", "prompt as chat messages; ends with a user turn"),
        Column("chosen", MESSAGE, "the preferred assistant message (either one when tie)"),
        Column("rejected", MESSAGE, "the other assistant message"),
        Column("chosen_hash", "VARCHAR", "content hash of the chosen response"),
        Column("rejected_hash", "VARCHAR", "content hash of the rejected response"),
        Column("tie", "BOOLEAN", "true when the source calls both responses equally good"),
        Column("strength", "SMALLINT", "signed preference strength of chosen over rejected, -3..3 (0 = tie)"),
        Column("chosen_ratings", RATINGS, "per-attribute ratings of the chosen response"),
        Column("rejected_ratings", RATINGS, "per-attribute ratings of the rejected response"),
        Column("justification", "VARCHAR", "the annotator's stated reason, when the source has one"),
        Column("language", "VARCHAR", "ISO 639-1 code of the prompt language; 'und' when undetermined"),
        Column("language_detected", "BOOLEAN", "true when detected by curate, false when given by the source"),
        *LINEAGE,
        Column("annotator", "VARCHAR", "annotator id, when the source has one"),
        Column("meta", "JSON", "source fields not mapped to a column, kept verbatim"),
        Column("kind", "VARCHAR", "original, or the augmentation that made it (causal, neutral, adversarial)"),
        Column("parent_pair_id", "VARCHAR", "pair an augmentation was derived from"),
        Column("run_id", "VARCHAR", "run that wrote the row"),
        Column("ingested_at", "TIMESTAMPTZ", "when the row was written"),
    ),
)

RAW_ROWS = Table(
    name="raw_rows",
    version=1,
    key=("source_file", "source_row", "run_id"),
    doc="Every input row as read, with its outcome. Input rows = accepted + duplicate + conflict + rejected.",
    columns=(
        *LINEAGE,
        Column("run_id", "VARCHAR", "ingest run that read the row"),
        Column("adapter", "VARCHAR", "format adapter applied (NULL when the row could not be read)"),
        Column("outcome", "VARCHAR", "accepted, duplicate, conflict or rejected"),
        Column("reason", "VARCHAR", "reject reason code (rejected rows only)"),
        Column("detail", "VARCHAR", "human-readable explanation of the outcome"),
        Column("pair_ids", "VARCHAR[]", "pairs this row produced, duplicated or contradicted"),
        Column("raw", "VARCHAR", "the row as read; invalid UTF-8 bytes appear as \\xNN escapes"),
    ),
)

CONFLICTS = Table(
    name="conflicts",
    version=1,
    key=("pair_id", "source_file", "source_row"),
    doc="Labels that contradict the stored label of the same comparison. The stored pair is never overwritten.",
    columns=(
        Column("pair_id", "VARCHAR", "the comparison whose label is contradicted"),
        Column("kind", "VARCHAR", "reversed, tie or preference"),
        Column("chosen_hash", "VARCHAR", "content hash of the response this row prefers (NULL for a tie)"),
        Column("strength", "SMALLINT", "strength the row states, on its own orientation"),
        Column("annotator", "VARCHAR", "annotator id of the contradicting row"),
        *LINEAGE,
        Column("run_id", "VARCHAR", "run that recorded the conflict"),
    ),
)

RUNS = Table(
    name="runs",
    version=1,
    key=("run_id",),
    doc="One row per stage run: its config, counts and outcome.",
    columns=(
        Column("run_id", "VARCHAR", "unique id of the run; also in the snapshot's commit message"),
        Column("stage", "VARCHAR", "stage name (ingest, judge, ...)"),
        Column("started_at", "TIMESTAMPTZ", "start time"),
        Column("finished_at", "TIMESTAMPTZ", "end time"),
        Column("config", "JSON", "the stage config the run used"),
        Column("counts", "JSON", "rows in, rows written, drops by reason"),
    ),
)

MIGRATIONS = Table(
    name="migrations",
    version=1,
    key=("version",),
    doc="Migrations applied to this warehouse.",
    columns=(
        Column("version", "INTEGER", "migration number"),
        Column("name", "VARCHAR", "migration file name"),
        Column("applied_at", "TIMESTAMPTZ", "when it was applied"),
    ),
)

FOUNDATION: tuple[Table, ...] = (MIGRATIONS, RUNS, RAW_ROWS, PAIRS, CONFLICTS)
