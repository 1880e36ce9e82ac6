-- Rejected rows per source and reason code, with one example row to look at.
SELECT
    source,
    reason,
    count(*) AS rows,
    min(source_file || ':' || source_row) AS example
FROM row_outcomes
WHERE outcome = ${Outcome.REJECTED}
GROUP BY ALL
ORDER BY rows DESC, source, reason
