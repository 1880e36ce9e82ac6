-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- llm_requests v1: One row per finished request attempt. Only status 'ok' rows are served from the cache; failures are kept, never served.
CREATE TABLE IF NOT EXISTS llm_requests (
    request_hash VARCHAR,
    endpoint VARCHAR,
    model VARCHAR,
    template_hash VARCHAR,
    request JSON,
    response JSON,
    text VARCHAR,
    status VARCHAR,
    error VARCHAR,
    http_status INTEGER,
    attempt INTEGER,
    retries INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    latency_ms DOUBLE,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);
