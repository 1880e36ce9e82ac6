-- Length bias of the labels: non-tie pairs per source by the length ratio of chosen to rejected, in characters,
-- ratio = (chosen + 1) / (rejected + 1), in five buckets: < 0.5, < 0.8, 0.8 to 1.25, to 2, > 2.
-- Labels without a length preference give a symmetric distribution; the chosen-is-longer rate is in length_stats.
WITH bucketed AS (
    SELECT
        source,
        CASE
            WHEN ratio < 0.5 THEN 1
            WHEN ratio < 0.8 THEN 2
            WHEN ratio <= 1.25 THEN 3
            WHEN ratio <= 2 THEN 4
            ELSE 5
        END AS bucket
    FROM (
        SELECT source, (length(chosen.content) + 1) / (length(rejected.content) + 1) AS ratio
        FROM pairs
        WHERE NOT coalesce(tie, false)
    )
)
SELECT
    source,
    bucket,
    ['rejected 2x+ longer', 'rejected longer', 'similar (within 25%)', 'chosen longer', 'chosen 2x+ longer'][bucket] AS length_ratio,
    count(*) AS pairs,
    round(count(*) / sum(count(*)) OVER (PARTITION BY source), 4) AS share_of_source
FROM bucketed
GROUP BY source, bucket
ORDER BY source, bucket
