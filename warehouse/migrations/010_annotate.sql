-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- annotation_batches v1: One row per pushed batch: where it went, the routing policy that picked it, and how many pairs per reason.
CREATE TABLE IF NOT EXISTS annotation_batches (
    batch_id VARCHAR,
    tool VARCHAR,
    server VARCHAR,
    project_id BIGINT,
    project VARCHAR,
    overlap INTEGER,
    show_suggestions BOOLEAN,
    routing JSON,
    reasons JSON,
    pairs INTEGER,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- annotation_tasks v1: One row per pushed task: the pair behind it, why it was routed, and which side showed the stored chosen response. The mapping lives here only, never in the task the annotator sees.
CREATE TABLE IF NOT EXISTS annotation_tasks (
    batch_id VARCHAR,
    pair_id VARCHAR,
    task_id BIGINT,
    left_is_chosen BOOLEAN,
    route_reason VARCHAR,
    p_wrong DOUBLE,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- annotations v1: Human verdicts mapped back to the stored label, one row per version of an annotation: an annotation edited after a pull is a new version, never an overwrite. Readers take the latest from annotations_latest.
CREATE TABLE IF NOT EXISTS annotations (
    pair_id VARCHAR,
    annotator VARCHAR,
    verdict VARCHAR,
    strength SMALLINT,
    reason VARCHAR,
    lead_time DOUBLE,
    batch_id VARCHAR,
    origin VARCHAR,
    annotation_id VARCHAR,
    version INTEGER,
    content_hash VARCHAR,
    annotated_at TIMESTAMPTZ,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);
