-- Each ingest run reconciled: the rows it read and what became of them, with its snapshot.
SELECT
    r.run_id,
    s.snapshot_id,
    count(*) AS rows,
    count(*) FILTER (r.outcome = 'accepted') AS accepted,
    count(*) FILTER (r.outcome = 'duplicate') AS duplicate,
    count(*) FILTER (r.outcome = 'conflict') AS conflict,
    count(*) FILTER (r.outcome = 'rejected') AS rejected
FROM raw_rows r
LEFT JOIN lake.snapshots() s
    ON json_extract_string(s.commit_extra_info, '$.run_id') = r.run_id
GROUP BY ALL
ORDER BY r.run_id
