"""The one definition of every warehouse table.

Columns are declared once here, as DuckDB types with a line of documentation
each: the foundation tables in ``tables.py`` and one module per later stage.
The SQL migrations in ``warehouse/migrations`` are generated from these
definitions (``python -m schemas``), one numbered file per module, and a test
keeps the two in sync; the Arrow schemas that writers use are derived from
the same declarations. No other module spells a column list.
"""

from schemas import embed, judge, llm, noise, release, stage, train
from schemas.embed import EMBEDDINGS
from schemas.judge import JUDGMENTS
from schemas.llm import LLM_REQUESTS
from schemas.noise import NOISE_SCORES, RM_SCORES
from schemas.release import RELEASE_ROWS, RELEASES
from schemas.stage import STAGE_RUNS
from schemas.train import RM_EVALS
from schemas.tables import CONFLICTS, FOUNDATION, MIGRATIONS, PAIRS, RAW_ROWS, RUNS, Column, Table
from schemas.vocab import ConflictKind, Outcome, PairKind, RejectReason

MIGRATION_SETS: dict[str, tuple[Table, ...]] = {
    "001_foundation": FOUNDATION,
    "002_llm": llm.TABLES,
    "003_judge": judge.TABLES,
    "004_embed": embed.TABLES,
    "005_noise": noise.TABLES,
    "006_release": release.TABLES,
    "007_train": train.TABLES,
    "008_stage": stage.TABLES,
}
"""Migration file stem -> the tables it creates. A column change adds a new numbered set; old ones never change."""

ALL_TABLES: tuple[Table, ...] = tuple(t for tables in MIGRATION_SETS.values() for t in tables)


def migration_sql(tables: tuple[Table, ...]) -> str:
    """The generated text of one migration file."""
    parts = ["-- Generated from schemas/ by `python -m schemas`. Do not edit by hand."]
    parts += [f"\n-- {t.name} v{t.version}: {t.doc}\n{t.ddl()}" for t in tables]
    return "\n".join(parts) + "\n"


__all__ = [
    "ALL_TABLES",
    "CONFLICTS",
    "EMBEDDINGS",
    "JUDGMENTS",
    "LLM_REQUESTS",
    "MIGRATIONS",
    "MIGRATION_SETS",
    "NOISE_SCORES",
    "PAIRS",
    "RAW_ROWS",
    "RELEASES",
    "RELEASE_ROWS",
    "RM_EVALS",
    "RM_SCORES",
    "RUNS",
    "STAGE_RUNS",
    "Column",
    "ConflictKind",
    "Outcome",
    "PairKind",
    "RejectReason",
    "Table",
    "migration_sql",
]
