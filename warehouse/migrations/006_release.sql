-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- releases v1: One row per materialized dataset version. Immutable: a name is never reused.
CREATE TABLE IF NOT EXISTS releases (
    name VARCHAR,
    parent VARCHAR,
    snapshot_id BIGINT,
    policy JSON,
    policy_hash VARCHAR,
    counts JSON,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- release_rows v1: The decision for every candidate pair of a release: keep, flip or drop, with one reason code, and its split.
CREATE TABLE IF NOT EXISTS release_rows (
    release VARCHAR,
    pair_id VARCHAR,
    prompt_id VARCHAR,
    decision VARCHAR,
    reason VARCHAR,
    split VARCHAR,
    margin DOUBLE,
    weight DOUBLE,
    run_id VARCHAR
);
