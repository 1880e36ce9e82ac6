"""The embedding cache."""

from schemas.tables import Column, Table

EMBEDDINGS = Table(
    name="embeddings",
    version=1,
    key=("model", "content_hash"),
    doc="Text embeddings, never recomputed: keyed by model and the content hash of the text.",
    columns=(
        Column("model", "VARCHAR", "embedding model identity (name or path, plus backend when not plain torch fp32)"),
        Column("content_hash", "VARCHAR", "chosen_hash / rejected_hash of a response, or prompt_id of a prompt"),
        Column("dim", "INTEGER", "vector length"),
        Column("vector", "FLOAT[]", "the embedding (normalized when the model normalizes)"),
        Column("run_id", "VARCHAR", "run that computed it"),
        Column("created_at", "TIMESTAMPTZ", "when it was computed"),
    ),
)

TABLES: tuple[Table, ...] = (EMBEDDINGS,)
