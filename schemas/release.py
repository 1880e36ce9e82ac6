"""Releases: immutable dataset versions and the decision per pair."""

from dataclasses import replace

from schemas.tables import AddColumns, Column, Table

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

RELEASE_ROWS_V1 = Table(
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
"""release_rows as ``006_release`` creates it; v2 adds what the humans said."""

RELEASE_ROWS = replace(
    RELEASE_ROWS_V1,
    version=2,
    doc=RELEASE_ROWS_V1.doc + " On pairs people verified, the human majority beside the judges' verdict, so a "
        "disagreement stays visible.",
    columns=(
        *RELEASE_ROWS_V1.columns,
        Column("human_verdict", "VARCHAR", "the annotators' majority, weighted by their estimated quality: chosen, rejected, "
               "tie, or split (tied totals); NULL without human verdicts (and in releases made before release_rows v2)"),
        Column("human_votes", "INTEGER", "annotators whose verdicts were counted"),
        Column("human_agreement", "DOUBLE", "the majority verdict's share of the annotators' total weight"),
        Column("judge_verdict", "VARCHAR", "on a human-verified pair: the verdict a strict majority of its judge versions gave "
               "position-consistently (chosen, rejected, tie); NULL when not judged or without such a majority"),
        Column("human_against_judge", "BOOLEAN", "the human majority and the judges' verdict differ (NULL unless both exist)"),
    ),
)
"""The release_rows table now."""

TABLES: tuple[Table, ...] = (RELEASES, RELEASE_ROWS_V1)
"""What ``006_release`` creates."""

HUMANS_CHANGES: tuple[AddColumns, ...] = (AddColumns(RELEASE_ROWS, RELEASE_ROWS_V1),)
"""What ``011_release_humans`` adds to a warehouse's release_rows."""

RELEASE_RULES = "release_rules"
"""View (``warehouse/views``): per release and rule (decision, reason), the pairs it decided and its estimated precision."""
