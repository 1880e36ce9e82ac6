-- Rows per source and outcome: rows = accepted + duplicate + conflict + rejected.
SELECT
    source,
    count(*) AS rows,
    count(*) FILTER (outcome = 'accepted') AS accepted,
    count(*) FILTER (outcome = 'duplicate') AS duplicate,
    count(*) FILTER (outcome = 'conflict') AS conflict,
    count(*) FILTER (outcome = 'rejected') AS rejected
FROM row_outcomes
GROUP BY source
ORDER BY source
