"""Completion markers: which stage ran on which input with which config."""

from schemas.tables import Column, Table

STAGE_RUNS = Table(
    name="stage_runs",
    version=1,
    key=("stage", "input_snapshot", "config_hash"),
    doc="One row per finished stage run: a flow skips a stage whose (input snapshot, config hash) already ran.",
    columns=(
        Column("stage", "VARCHAR", "stage name (ingest, judge, ...)"),
        Column("input_snapshot", "BIGINT", "latest snapshot that changed the tables the stage reads, when it started"),
        Column("config_hash", "VARCHAR", "hash of the stage config's canonical JSON"),
        Column("run_id", "VARCHAR", "the run that finished"),
        Column("finished_at", "TIMESTAMPTZ", "when it committed"),
    ),
)

TABLES = (STAGE_RUNS,)
