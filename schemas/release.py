"""Releases: immutable dataset versions and the decision per pair."""

from schemas.tables import Column, Table

RELEASES = Table(
    name="releases",
    version=1,
    key=("name",),
    doc="One row per materialized dataset version. Immutable: a name is never reused.",
    columns=(
        Column("name", "VARCHAR", "release name (also the Hub tag)"),
        Column("parent", "VARCHAR", "the release this one was derived from, when any"),
        Column("snapshot_id", "BIGINT", "DuckLake snapshot the release read; re-materializing at it gives the same rows"),
        Column("policy", "JSON", "the policy applied, in full"),
        Column("policy_hash", "VARCHAR", "hash of the policy"),
        Column("counts", "JSON", "rows per decision, reason and split"),
        Column("run_id", "VARCHAR", "run that made it"),
        Column("created_at", "TIMESTAMPTZ", "when it was made"),
    ),
)

RELEASE_ROWS = Table(
    name="release_rows",
    version=1,
    key=("release", "pair_id"),
    doc="The decision for every candidate pair of a release: keep, flip or drop, with one reason code, and its split.",
    columns=(
        Column("release", "VARCHAR", "release name"),
        Column("pair_id", "VARCHAR", "the pair"),
        Column("prompt_id", "VARCHAR", "its prompt (splits are by prompt)"),
        Column("decision", "VARCHAR", "keep, flip or drop"),
        Column("reason", "VARCHAR", "reason code for the decision"),
        Column("split", "VARCHAR", "train, validation or test (NULL when dropped)"),
        Column("margin", "DOUBLE", "margin exported with the row (from strength or ensemble margin)"),
        Column("weight", "DOUBLE", "optional per-row training weight"),
        Column("run_id", "VARCHAR", "run that wrote the row"),
    ),
)

TABLES: tuple[Table, ...] = (RELEASES, RELEASE_ROWS)

RELEASE_RULES = "release_rules"
"""View (``warehouse/views``): per release and rule (decision, reason), the pairs it decided and its estimated precision."""
