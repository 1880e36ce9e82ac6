-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- rm_scores v1: Out-of-fold reward margins r(chosen) - r(rejected) per pair, per method and member model.
CREATE TABLE IF NOT EXISTS rm_scores (
    pair_id VARCHAR,
    method VARCHAR,
    model_id VARCHAR,
    fold INTEGER,
    margin DOUBLE,
    margin_std DOUBLE,
    embedding_model VARCHAR,
    config_hash VARCHAR,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- noise_scores v1: Per-method noise score (higher = more likely mislabeled); method 'fused' is the headline. Scores, not decisions.
CREATE TABLE IF NOT EXISTS noise_scores (
    pair_id VARCHAR,
    method VARCHAR,
    score DOUBLE,
    components JSON,
    config_hash VARCHAR,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);
