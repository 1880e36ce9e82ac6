-- Contradicting labels per source and kind (reversed, tie, preference).
SELECT
    source,
    kind,
    count(*) AS rows,
    count(DISTINCT pair_id) AS pairs
FROM conflicts
GROUP BY ALL
ORDER BY rows DESC, source, kind
