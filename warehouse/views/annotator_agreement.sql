-- How often a second label of an already stored comparison agrees with it, per source of the second label
-- and over all sources ('*'). Agreeing: input rows that repeat a stored comparison with the same label
-- (outcome duplicate; one per pair). Disagreeing: rows recorded in conflicts, as a reversed preference or
-- a tie against a preference (either way). A row read again by a later ingest counts once, and a row that
-- was accepted once is not a second label (as in row_outcomes). Exact repeats of a row inside a file count
-- as agreement too. annotators: distinct annotator ids among the stored labels of these comparisons and
-- the contradicting rows, both counted: a contradicting row that names its annotator adds to the stored
-- label's annotator, never replaces it.
WITH duplicate_rows AS (
    SELECT source, source_file, source_row, any_value(pair_ids) AS pair_ids
    FROM raw_rows
    WHERE outcome = ${Outcome.DUPLICATE}
    GROUP BY source, source_file, source_row
),
accepted_rows AS (
    SELECT DISTINCT source_file, source_row FROM raw_rows WHERE outcome = ${Outcome.ACCEPTED}
),
agreeing AS (
    SELECT d.source, unnest(d.pair_ids) AS pair_id, 'agree' AS kind, NULL AS annotator
    FROM duplicate_rows d
    ANTI JOIN accepted_rows a ON a.source_file = d.source_file AND a.source_row = d.source_row
),
disagreeing AS (
    SELECT DISTINCT source, pair_id, kind, annotator, source_file, source_row
    FROM conflicts
),
second_labels AS (
    SELECT source, pair_id, kind, annotator FROM agreeing
    UNION ALL
    SELECT source, pair_id, kind, annotator FROM disagreeing
)
SELECT
    CASE WHEN grouping(s.source) = 1 THEN '*' ELSE s.source END AS source,
    count(*) AS second_labels,
    count(DISTINCT s.pair_id) AS comparisons,
    count(*) FILTER (s.kind = 'agree') AS agree,
    count(*) FILTER (s.kind = ${ConflictKind.REVERSED}) AS reversed,
    count(*) FILTER (s.kind IN (${ConflictKind.TIE}, ${ConflictKind.PREFERENCE})) AS tie_vs_preference,
    round(count(*) FILTER (s.kind = 'agree') / nullif(count(*), 0), 4) AS agreement_rate,
    len(list_distinct(list(s.annotator) || list(p.annotator))) AS annotators
FROM second_labels s
LEFT JOIN pairs p USING (pair_id)
GROUP BY ROLLUP (s.source)
ORDER BY grouping(s.source), s.source
