"""The one definition of every warehouse table.

Columns are declared once here, as DuckDB types with a line of documentation
each. The SQL migrations in ``warehouse/migrations`` are generated from these
definitions (``python -m schemas``) and a test keeps the two in sync; the
Arrow schemas that writers use are derived from the same declarations. No
other module spells a column list.
"""

from schemas.tables import (
    ALL_TABLES,
    CONFLICTS,
    MIGRATIONS,
    PAIRS,
    RAW_ROWS,
    RUNS,
    Column,
    Table,
)
from schemas.vocab import ConflictKind, Outcome, PairKind, RejectReason

__all__ = [
    "ALL_TABLES",
    "CONFLICTS",
    "MIGRATIONS",
    "PAIRS",
    "RAW_ROWS",
    "RUNS",
    "Column",
    "ConflictKind",
    "Outcome",
    "PairKind",
    "RejectReason",
    "Table",
]
