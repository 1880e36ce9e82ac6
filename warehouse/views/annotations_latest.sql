-- The latest version of every annotation (one row per origin and annotation id): what the noise stage,
-- releases and the agreement views read. Earlier versions stay in annotations, for the record of edits.
SELECT * EXCLUDE (rn)
FROM (
    SELECT *, row_number() OVER (PARTITION BY origin, annotation_id ORDER BY version DESC) AS rn
    FROM annotations
)
WHERE rn = 1
