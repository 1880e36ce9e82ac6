-- One row per input row with its outcome. A row read by several runs keeps
-- the run that accepted it, else its latest outcome.
SELECT *
FROM raw_rows
QUALIFY row_number() OVER (
    PARTITION BY source_file, source_row
    ORDER BY outcome = ${Outcome.ACCEPTED} DESC, run_id DESC
) = 1
