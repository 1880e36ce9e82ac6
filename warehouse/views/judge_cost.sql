-- What the verdicts in use (judge_rows) cost, per judge version (judge, template@hash, attribute, settings), re-asks
-- included; a verdict answered from the LLM cache keeps the cost it had when sent. A cost is unknown (NULL) when the
-- model is remote and missing from the price table: then cost_usd is NULL, never 0, and `cost` says "unknown"
-- (with the known part, when some verdicts have a price). Loopback endpoints are free (0). Probe rows are left out.
SELECT
    judge,
    template || '@' || left(template_hash, 8) AS template,
    attribute,
    left(settings_hash, 8) AS settings,
    count(*) AS verdicts,
    sum(prompt_tokens)::BIGINT AS prompt_tokens,
    sum(completion_tokens)::BIGINT AS completion_tokens,
    count(*) FILTER (cost_usd IS NULL) AS unpriced,
    CASE WHEN count(*) FILTER (cost_usd IS NULL) = 0 THEN round(sum(cost_usd), 6) END AS cost_usd,
    CASE
        WHEN count(*) FILTER (cost_usd IS NULL) = 0 THEN printf('$%.4f', sum(cost_usd))
        WHEN count(cost_usd) = 0 THEN 'unknown'
        ELSE printf('unknown ($%.4f known for %d of %d verdicts)', sum(cost_usd), count(cost_usd), count(*))
    END AS cost
FROM judge_rows
GROUP BY ALL
ORDER BY judge, template, attribute, settings
