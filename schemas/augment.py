"""Augmentations: synthetic pairs made from stored ones, and every candidate's provenance and check.

An accepted candidate becomes a row of ``pairs`` (``kind`` causal, neutral or adversarial, ``parent_pair_id``);
every candidate, accepted or rejected, is a row here with what made it and what the checks said. A candidate
rejected for a passing cause (request_failed, not_checked) is made again by the next run, in a row of its own with
the same ``augmentation_id``: hence the key holds the run.
"""

from schemas.tables import Column, Table

AUGMENTATIONS = Table(
    name="augmentations",
    version=1,
    key=("augmentation_id", "run_id"),
    doc="One row per augmentation candidate: its parent, what made it, the checks it went through, and whether it "
        "became a pair. Rejected candidates keep their text and the reason.",
    columns=(
        Column("augmentation_id", "VARCHAR", "hash of the parent, kind, method, attribute and generator"),
        Column("pair_id", "VARCHAR", "id of the candidate pair (in pairs when accepted)"),
        Column("parent_pair_id", "VARCHAR", "the pair it was made from"),
        Column("donor_pair_id", "VARCHAR", "neutral re-pairing: the pair whose prompt it borrowed; else NULL"),
        Column("kind", "VARCHAR", "causal, neutral or adversarial (vocab PairKind)"),
        Column("method", "VARCHAR", "how it was made (vocab AugmentMethod): llm, rules, repair, master_key"),
        Column("attribute", "VARCHAR", "causal: the attribute degraded; neutral: the style aspect or rewrite; adversarial: the key"),
        Column("side", "VARCHAR", "the parent response it rewrote (chosen or rejected); NULL for re-pairing"),
        Column("tie", "BOOLEAN", "the candidate is labeled a tie (neutral)"),
        Column("status", "VARCHAR", "accepted or rejected (vocab AugmentStatus)"),
        Column("reason", "VARCHAR", "why it was rejected (vocab AugmentReason); NULL when accepted"),
        Column("similarity", "DOUBLE", "cosine similarity of the rewrite to the original (neutral LLM rewrites)"),
        Column("verdict_chosen_as_a", "VARCHAR", "the judge's verdict with the candidate's chosen response shown as A"),
        Column("verdict_chosen_as_b", "VARCHAR", "with it shown as B"),
        Column("generator", "VARCHAR", "endpoint identity and model that wrote it; NULL for rules"),
        Column("template_hash", "VARCHAR", "hash of the rewrite template or rule set"),
        Column("request_hash", "VARCHAR", "llm_requests row of the rewrite; NULL for rules"),
        Column("judge", "VARCHAR", "endpoint identity and model of the check judge; NULL when unchecked"),
        Column("candidate", "VARCHAR", "the text the augmentation made (the rewrite, degraded response or non-answer)"),
        Column("run_id", "VARCHAR", "run that wrote it"),
        Column("created_at", "TIMESTAMPTZ", "when it was written"),
    ),
)

TABLES: tuple[Table, ...] = (AUGMENTATIONS,)

AUGMENT_SOURCE = "curate-augment"
"""``pairs.source`` of every augmented pair (``source_file`` is ``augment:<kind>:<method>``)."""

AUGMENTATION_SUMMARY = "augmentation_summary"
"""View (``warehouse/views``): candidates per kind, method, attribute, status and reason, each at its latest attempt,
and the pairs the accepted ones are."""
