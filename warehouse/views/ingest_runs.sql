-- Each ingest run reconciled: the rows it read and what became of them, with its snapshot.
SELECT
    r.run_id,
    s.snapshot_id,
    count(*) AS rows,
    count(*) FILTER (r.outcome = ${Outcome.ACCEPTED}) AS accepted,
    count(*) FILTER (r.outcome = ${Outcome.DUPLICATE}) AS duplicate,
    count(*) FILTER (r.outcome = ${Outcome.CONFLICT}) AS conflict,
    count(*) FILTER (r.outcome = ${Outcome.REJECTED}) AS rejected
FROM raw_rows r
LEFT JOIN lake.snapshots() s
    ON json_extract_string(s.commit_extra_info, '$.run_id') = r.run_id
GROUP BY ALL
ORDER BY r.run_id
