-- Contradicting labels per source and kind (reversed, tie, preference). rows: contradicting input rows per
-- pair, by the table's key (pair_id, source_file, source_row): a file read again by a later ingest records
-- its conflicts again, under the new run, and they count once (as in row_outcomes).
SELECT
    source,
    kind,
    count(DISTINCT (pair_id, source_file, source_row)) AS rows,
    count(DISTINCT pair_id) AS pairs
FROM conflicts
GROUP BY ALL
ORDER BY rows DESC, source, kind
