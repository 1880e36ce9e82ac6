"""The one definition of every warehouse table.

Columns are declared once here, as DuckDB types with a line of documentation
each: the foundation tables in ``tables.py`` and one module per later stage.
The SQL migrations in ``warehouse/migrations`` are generated from these
definitions (``python -m schemas``), one numbered file per module, and a test
keeps the two in sync. A column change never edits an old file: it adds a
numbered set of ``AddColumns`` steps that ALTER the table. The Arrow schemas
that writers use are derived from the same declarations. No other module
spells a column list.
"""

from schemas import annotate, augment, embed, judge, llm, noise, release, rubrics, stage, train
from schemas.annotate import ANNOTATION_BATCHES, ANNOTATION_TASKS, ANNOTATIONS
from schemas.augment import AUGMENTATIONS
from schemas.embed import EMBEDDINGS
from schemas.judge import JUDGMENTS
from schemas.llm import LLM_REQUESTS
from schemas.noise import NOISE_SCORES, RM_SCORES
from schemas.release import RELEASE_ROWS, RELEASES
from schemas.rubrics import PRINCIPLES, RUBRIC_CHECKS, RUBRICS
from schemas.stage import STAGE_RUNS
from schemas.train import RM_EVALS
from schemas.tables import CONFLICTS, FOUNDATION, MIGRATIONS, PAIRS, RAW_ROWS, RUNS, AddColumns, Column, Table
from schemas.vocab import ConflictKind, Outcome, PairKind, RejectReason

MIGRATION_SETS: dict[str, tuple[Table | AddColumns, ...]] = {
    "001_foundation": FOUNDATION,
    "002_llm": llm.TABLES,
    "003_judge": judge.TABLES,
    "004_embed": embed.TABLES,
    "005_noise": noise.TABLES,
    "006_release": release.TABLES,
    "007_train": train.TABLES,
    "008_stage": stage.TABLES,
    "009_judge_settings": judge.SETTINGS_CHANGES,
    "010_annotate": annotate.TABLES,
    "011_release_humans": release.HUMANS_CHANGES,
    "012_rubrics_augment": (*rubrics.TABLES, *augment.TABLES),
}
"""Migration file stem -> the tables it creates or the columns it adds. A column change adds a new numbered
set of ``AddColumns``; old sets never change."""


def _current_tables() -> tuple[Table, ...]:
    """Each table at its latest version: the one an ``AddColumns`` step upgraded it to, else as created."""
    tables: dict[str, Table] = {}
    for steps in MIGRATION_SETS.values():
        for step in steps:
            table = step.table if isinstance(step, AddColumns) else step
            tables[table.name] = table
    return tuple(tables.values())


ALL_TABLES: tuple[Table, ...] = _current_tables()


def migration_sql(steps: tuple[Table | AddColumns, ...]) -> str:
    """The generated text of one migration file."""
    parts = ["-- Generated from schemas/ by `python -m schemas`. Do not edit by hand."]
    for step in steps:
        if isinstance(step, AddColumns):
            parts.append(f"\n-- {step.header}\n{step.ddl()}")
        else:
            parts.append(f"\n-- {step.name} v{step.version}: {step.doc}\n{step.ddl()}")
    return "\n".join(parts) + "\n"


__all__ = [
    "ALL_TABLES",
    "ANNOTATIONS",
    "ANNOTATION_BATCHES",
    "ANNOTATION_TASKS",
    "AUGMENTATIONS",
    "AddColumns",
    "CONFLICTS",
    "EMBEDDINGS",
    "JUDGMENTS",
    "LLM_REQUESTS",
    "MIGRATIONS",
    "MIGRATION_SETS",
    "NOISE_SCORES",
    "PAIRS",
    "PRINCIPLES",
    "RAW_ROWS",
    "RELEASES",
    "RELEASE_ROWS",
    "RM_EVALS",
    "RM_SCORES",
    "RUBRICS",
    "RUBRIC_CHECKS",
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
