"""Noise evidence: reward-model margins and per-method noise scores."""

from schemas.tables import Column, Table

RM_SCORES = Table(
    name="rm_scores",
    version=1,
    key=("pair_id", "method", "model_id", "fold"),
    doc="Out-of-fold reward margins r(chosen) - r(rejected) per pair, per method and member model.",
    columns=(
        Column("pair_id", "VARCHAR", "the scored pair"),
        Column("method", "VARCHAR", "bt (single cross-fit RM), ensemble, peer, ..."),
        Column("model_id", "VARCHAR", "member model within the method (seed, bootstrap, peer a/b)"),
        Column("fold", "INTEGER", "cross-fitting fold the pair was held out in"),
        Column("margin", "DOUBLE", "out-of-fold reward margin of chosen over rejected"),
        Column("margin_std", "DOUBLE", "std of the margin over members, where the method has one"),
        Column("embedding_model", "VARCHAR", "embedding model the features came from"),
        Column("config_hash", "VARCHAR", "hash of the method config (seeds, folds, epochs)"),
        Column("run_id", "VARCHAR", "run that wrote the row"),
        Column("created_at", "TIMESTAMPTZ", "when the row was written"),
    ),
)

NOISE_SCORES = Table(
    name="noise_scores",
    version=1,
    key=("pair_id", "method"),
    doc="Per-method noise score (higher = more likely mislabeled); method 'fused' is the headline. Scores, not decisions.",
    columns=(
        Column("pair_id", "VARCHAR", "the scored pair"),
        Column("method", "VARCHAR", "bt, ensemble, peer, confident, judge, fused, ..."),
        Column("score", "DOUBLE", "higher = more likely mislabeled"),
        Column("components", "JSON", "the inputs behind the score (margins, std, judge votes, ...)"),
        Column("config_hash", "VARCHAR", "hash of the method config"),
        Column("run_id", "VARCHAR", "run that wrote the row"),
        Column("created_at", "TIMESTAMPTZ", "when the row was written"),
    ),
)

TABLES: tuple[Table, ...] = (RM_SCORES, NOISE_SCORES)

NOISE_SCORES_LATEST = "noise_scores_latest"
"""View (``warehouse/views``): the rows of the latest run of each method, one per pair and method. Readers use it."""
RM_SCORES_LATEST = "rm_scores_latest"
"""View: ``rm_scores`` rows of the latest run of each method."""
NOISE_RELIABILITIES = "noise_reliabilities"
"""View: each noise run's estimated reliabilities (annotator, reliability), read from ``runs``."""

ANNOTATOR_PREFIX = "human:"
"""How a human annotator is named among a noise run's reliabilities: ``human:<annotator>`` (``noise_reliabilities``,
read by ``annotator_quality`` and by releases that weigh annotators by quality)."""
