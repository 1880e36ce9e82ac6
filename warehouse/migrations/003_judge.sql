-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- judgments v1: One LLM-judge verdict per pair, presentation order and sample. Verdicts are evidence; release policies decide. Probe rows (template 'probe-...') judge synthetic pairs that are not in pairs.
CREATE TABLE IF NOT EXISTS judgments (
    pair_id VARCHAR,
    judge VARCHAR,
    template VARCHAR,
    template_hash VARCHAR,
    attribute VARCHAR,
    swapped BOOLEAN,
    sample INTEGER,
    winner VARCHAR,
    verdict VARCHAR,
    strength DOUBLE,
    p_verdict DOUBLE,
    rationale VARCHAR,
    status VARCHAR,
    error VARCHAR,
    parse_attempts INTEGER,
    request_hash VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    probe_key VARCHAR,
    run_id VARCHAR,
    judged_at TIMESTAMPTZ
);
