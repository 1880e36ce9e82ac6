-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- embeddings v1: Text embeddings, never recomputed: keyed by model and the content hash of the text.
CREATE TABLE IF NOT EXISTS embeddings (
    model VARCHAR,
    content_hash VARCHAR,
    dim INTEGER,
    vector FLOAT[],
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);
