"""Reward models trained on releases, and their held-out accuracy."""

from schemas.tables import Column, Table

RM_EVALS = Table(
    name="rm_evals",
    version=1,
    key=("release", "run_id"),
    doc="Held-out pairwise accuracy of a reward model trained on a release, so releases compare in one query.",
    columns=(
        Column("release", "VARCHAR", "release the model was trained on"),
        Column("eval_set", "VARCHAR", "held-out pair set, '<release>:test[:first<N>]' with labels as ingested; equal names mean the same pairs"),
        Column("base_model", "VARCHAR", "model fine-tuned"),
        Column("device", "VARCHAR", "cpu or cuda device name"),
        Column("train_pairs", "INTEGER", "pairs trained on"),
        Column("eval_pairs", "INTEGER", "held-out pairs scored"),
        Column("accuracy", "DOUBLE", "share of held-out pairs where r(chosen) > r(rejected)"),
        Column("train_seconds", "DOUBLE", "wall-clock seconds of training (tokenizing and scoring not included)"),
        Column("config", "JSON", "training config (epochs, lr, max length, seed, ...)"),
        Column("run_id", "VARCHAR", "run that trained it"),
        Column("created_at", "TIMESTAMPTZ", "when it finished"),
    ),
)

TABLES: tuple[Table, ...] = (RM_EVALS,)
