"""Human annotation: batches routed to annotators, the tasks' side mapping, and the verdicts that came back."""

from schemas.tables import Column, Table

ANNOTATION_BATCHES = Table(
    name="annotation_batches",
    version=1,
    key=("batch_id",),
    doc="One row per pushed batch: where it went, the routing policy that picked it, and how many pairs per reason.",
    columns=(
        Column("batch_id", "VARCHAR", "unique id of the batch (the push run's id)"),
        Column("tool", "VARCHAR", "annotation tool the batch went to (label-studio)"),
        Column("server", "VARCHAR", "the tool's base URL, without credentials"),
        Column("project_id", "BIGINT", "the tool's project id"),
        Column("project", "VARCHAR", "the project's title"),
        Column("overlap", "INTEGER", "annotators wanted per task"),
        Column("show_suggestions", "BOOLEAN", "true when the tasks showed the judge's and the reward model's view"),
        Column("routing", "JSON", "the routing policy, in full"),
        Column("reasons", "JSON", "pairs routed per reason"),
        Column("pairs", "INTEGER", "pairs in the batch"),
        Column("run_id", "VARCHAR", "run that pushed it"),
        Column("created_at", "TIMESTAMPTZ", "when it was pushed"),
    ),
)

ANNOTATION_TASKS = Table(
    name="annotation_tasks",
    version=1,
    key=("batch_id", "pair_id"),
    doc="One row per pushed task: the pair behind it, why it was routed, and which side showed the stored chosen "
        "response. The mapping lives here only, never in the task the annotator sees.",
    columns=(
        Column("batch_id", "VARCHAR", "the batch"),
        Column("pair_id", "VARCHAR", "the pair shown"),
        Column("task_id", "BIGINT", "the tool's task id"),
        Column("left_is_chosen", "BOOLEAN", "true when response 1 (left) is the stored chosen response"),
        Column("route_reason", "VARCHAR", "why the routing policy picked it (vocab RouteReason)"),
        Column("p_wrong", "DOUBLE", "the fused P(label wrong) when it was routed (NULL without noise scores)"),
        Column("run_id", "VARCHAR", "run that pushed it"),
        Column("created_at", "TIMESTAMPTZ", "when it was pushed"),
    ),
)

ANNOTATIONS = Table(
    name="annotations",
    version=1,
    key=("origin", "annotation_id", "version"),
    doc="Human verdicts mapped back to the stored label, one row per version of an annotation: an annotation "
        "edited after a pull is a new version, never an overwrite. Readers take the latest from annotations_latest.",
    columns=(
        Column("pair_id", "VARCHAR", "the pair judged"),
        Column("annotator", "VARCHAR", "who judged it (the tool's user e-mail or id)"),
        Column("verdict", "VARCHAR", "chosen (agrees with the stored label), rejected (against it) or tie"),
        Column("strength", "SMALLINT", "signed preference for the stored chosen response, -3..3 (0 = tie)"),
        Column("reason", "VARCHAR", "the annotator's short reason, when given"),
        Column("lead_time", "DOUBLE", "seconds the annotator spent on the task"),
        Column("batch_id", "VARCHAR", "the batch it answered (NULL when imported)"),
        Column("origin", "VARCHAR", "where it came from: 'label-studio:<server>#<project>' or an imported file"),
        Column("annotation_id", "VARCHAR", "the annotation's id at its origin"),
        Column("version", "INTEGER", "1 for the first pull, +1 for each edit seen later"),
        Column("content_hash", "VARCHAR", "hash of what the annotation says; a pull adds a version only when it changes"),
        Column("annotated_at", "TIMESTAMPTZ", "when the annotator last saved it"),
        Column("run_id", "VARCHAR", "run that pulled it"),
        Column("created_at", "TIMESTAMPTZ", "when the row was written"),
    ),
)

TABLES: tuple[Table, ...] = (ANNOTATION_BATCHES, ANNOTATION_TASKS, ANNOTATIONS)

ANNOTATIONS_LATEST = "annotations_latest"
"""View (``warehouse/views``): the latest version of every annotation. Everything that reads verdicts reads this."""
ANNOTATION_BATCH_STATE = "annotation_batch_state"
"""View: per batch, tasks pushed, started and done, and its state (pushed, partly done, done)."""
ANNOTATION_VOTES = "annotation_votes"
"""View: each annotator's latest vote per batch (and '*') and pair, with how many annotations it stands for."""
HUMAN_MAJORITY = "human_majority"
"""View: per batch (and '*') and pair, the votes per verdict, the plurality verdict (NULL when split) and `split`."""
ANNOTATOR_KAPPA = "annotator_kappa"
"""View: Cohen's kappa for every two annotators over the pairs both judged, per batch and source."""
ANNOTATION_ALPHA = "annotation_alpha"
"""View: Krippendorff's alpha of the annotations (verdict and strength), per batch and source."""
HUMAN_VS_JUDGE = "human_vs_judge"
"""View: the human majority against the judge's consistent verdict: accuracy and kappa per batch, source and judge."""
HUMAN_VS_LABEL = "human_vs_label"
"""View: the human majority against the stored label: accuracy, kappa and split pairs per batch and source."""
ANNOTATION_AUDIT = "annotation_audit"
"""View: the audit sample's label and judge error rates with Wilson intervals, per batch and source."""
ANNOTATOR_QUALITY = "annotator_quality"
"""View: each annotator's annotations, leave-one-out agreement, lead time and Dawid-Skene accuracy."""
