-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- rm_evals v1: Held-out pairwise accuracy of a reward model trained on a release, so releases compare in one query.
CREATE TABLE IF NOT EXISTS rm_evals (
    release VARCHAR,
    eval_set VARCHAR,
    base_model VARCHAR,
    device VARCHAR,
    train_pairs INTEGER,
    eval_pairs INTEGER,
    accuracy DOUBLE,
    train_seconds DOUBLE,
    config JSON,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);
