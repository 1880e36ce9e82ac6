-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- migrations v1: Migrations applied to this warehouse.
CREATE TABLE IF NOT EXISTS migrations (
    version INTEGER,
    name VARCHAR,
    applied_at TIMESTAMPTZ
);

-- runs v1: One row per stage run: its config, counts and outcome.
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR,
    stage VARCHAR,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    config JSON,
    counts JSON
);

-- raw_rows v1: Every input row as read, with its outcome. Input rows = accepted + duplicate + conflict + rejected.
CREATE TABLE IF NOT EXISTS raw_rows (
    source VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    run_id VARCHAR,
    adapter VARCHAR,
    outcome VARCHAR,
    reason VARCHAR,
    detail VARCHAR,
    pair_ids VARCHAR[],
    raw VARCHAR
);

-- pairs v1: One row per distinct comparison (prompt + unordered pair of responses), as first seen.
CREATE TABLE IF NOT EXISTS pairs (
    pair_id VARCHAR,
    prompt_id VARCHAR,
    prompt STRUCT(role VARCHAR, content VARCHAR)[],
    chosen STRUCT(role VARCHAR, content VARCHAR),
    rejected STRUCT(role VARCHAR, content VARCHAR),
    chosen_hash VARCHAR,
    rejected_hash VARCHAR,
    tie BOOLEAN,
    strength SMALLINT,
    chosen_ratings MAP(VARCHAR, DOUBLE),
    rejected_ratings MAP(VARCHAR, DOUBLE),
    justification VARCHAR,
    language VARCHAR,
    language_detected BOOLEAN,
    source VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    annotator VARCHAR,
    meta JSON,
    kind VARCHAR,
    parent_pair_id VARCHAR,
    run_id VARCHAR,
    ingested_at TIMESTAMPTZ
);

-- conflicts v1: Labels that contradict the stored label of the same comparison. The stored pair is never overwritten.
CREATE TABLE IF NOT EXISTS conflicts (
    pair_id VARCHAR,
    kind VARCHAR,
    chosen_hash VARCHAR,
    strength SMALLINT,
    annotator VARCHAR,
    source VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    run_id VARCHAR
);
