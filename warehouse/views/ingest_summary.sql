-- Rows per source and outcome: rows = accepted + duplicate + conflict + rejected.
SELECT
    source,
    count(*) AS rows,
    count(*) FILTER (outcome = ${Outcome.ACCEPTED}) AS accepted,
    count(*) FILTER (outcome = ${Outcome.DUPLICATE}) AS duplicate,
    count(*) FILTER (outcome = ${Outcome.CONFLICT}) AS conflict,
    count(*) FILTER (outcome = ${Outcome.REJECTED}) AS rejected
FROM row_outcomes
GROUP BY source
ORDER BY source
