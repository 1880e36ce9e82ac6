-- One row per input row with its outcome. A row read by several runs keeps
-- the run that accepted it, else its latest outcome: the run that committed last
-- (run ids sort by their start second only, then by a random suffix).
WITH commits AS (
    SELECT json_extract_string(commit_extra_info, '$.run_id') AS run_id, max(snapshot_id) AS snapshot_id
    FROM lake.snapshots()
    GROUP BY 1
)
SELECT r.*
FROM raw_rows r
LEFT JOIN commits c ON c.run_id = r.run_id
QUALIFY row_number() OVER (
    PARTITION BY r.source_file, r.source_row
    ORDER BY r.outcome = ${Outcome.ACCEPTED} DESC, c.snapshot_id DESC NULLS LAST, r.run_id DESC
) = 1
