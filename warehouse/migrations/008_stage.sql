-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- stage_runs v1: One row per finished stage run: a flow skips a stage whose (input snapshot, config hash) already ran.
CREATE TABLE IF NOT EXISTS stage_runs (
    stage VARCHAR,
    input_snapshot BIGINT,
    config_hash VARCHAR,
    run_id VARCHAR,
    finished_at TIMESTAMPTZ
);
