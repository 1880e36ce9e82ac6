-- Label distribution per source: preferences vs ties, by stated strength (NULL: the source states none),
-- with each group's share of its source.
SELECT
    source,
    CASE WHEN tie THEN 'tie' ELSE 'preference' END AS label,
    strength,
    count(*) AS pairs,
    round(count(*) / sum(count(*)) OVER (PARTITION BY source), 4) AS share_of_source
FROM pairs
GROUP BY source, label, strength
ORDER BY source, label, strength NULLS FIRST
