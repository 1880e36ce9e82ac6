-- One row per stage run, newest first: what it did and what it cost. Timings from runs; counts in and out,
-- errors and rejects by reason from runs.counts; the judge's LLM requests (sent, cache hits, failed), tokens and
-- cost from its details; the snapshot its input tables were at when it started (stage_runs) and the snapshot it
-- committed (the one whose commit names its run id).
SELECT
    r.run_id,
    r.stage,
    r.started_at,
    r.finished_at,
    round(epoch(r.finished_at) - epoch(r.started_at), 2) AS seconds,
    CAST(json_extract(r.counts, '$.rows_in') AS BIGINT) AS rows_in,
    CAST(json_extract(r.counts, '$.rows_written') AS BIGINT) AS rows_written,
    CAST(json_extract(r.counts, '$.error_count') AS BIGINT) AS errors,
    nullif(json_extract(r.counts, '$.dropped')::VARCHAR, '{}') AS dropped,
    CAST(json_extract(r.counts, '$.details.requests_sent') AS BIGINT) AS llm_requests,
    CAST(json_extract(r.counts, '$.details.cache_hits') AS BIGINT) AS llm_cache_hits,
    CAST(json_extract(r.counts, '$.details.requests_failed') AS BIGINT) AS llm_failed,
    CAST(json_extract(r.counts, '$.details.prompt_tokens') AS BIGINT)
        + CAST(json_extract(r.counts, '$.details.completion_tokens') AS BIGINT) AS tokens,
    CAST(json_extract(r.counts, '$.details.cost_usd') AS DOUBLE) AS cost_usd,
    m.input_snapshot AS read_snapshot,
    s.snapshot_id AS wrote_snapshot
FROM runs r
LEFT JOIN stage_runs m USING (run_id)
LEFT JOIN lake.snapshots() s ON json_extract_string(s.commit_extra_info, '$.run_id') = r.run_id
ORDER BY r.started_at DESC, r.run_id DESC
