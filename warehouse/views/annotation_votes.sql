-- Each annotator's vote on a pair, per batch, with '*' for every batch (the imported annotations, batch NULL,
-- included): one row per batch, pair and annotator, their latest annotation with a verdict of the pair in the batch
-- (in '*': across batches), by annotated_at, then created_at, then annotation_id: what the agreement, majority and
-- annotator views read.
--   source: the pair's source; verdict, strength, lead_time, annotated_at, origin, annotation_id, created_at: the
--   vote's; annotations: the annotator's annotations (latest versions) of the pair in the batch, the vote included;
--   timed: those with a lead time; total_lead_time: their lead times summed (NULL when none has one).
WITH scoped AS (
    SELECT a.* EXCLUDE (batch_id), unnest([a.batch_id, '*']) AS batch_id, p.source
    FROM annotations_latest a
    JOIN pairs p USING (pair_id)
    WHERE a.verdict IS NOT NULL
)
SELECT
    batch_id,
    source,
    pair_id,
    annotator,
    verdict,
    strength,
    lead_time,
    annotated_at,
    origin,
    annotation_id,
    created_at,
    count(*) OVER voter AS annotations,
    count(lead_time) OVER voter AS timed,
    sum(lead_time) OVER voter AS total_lead_time
FROM scoped
WINDOW voter AS (PARTITION BY batch_id, pair_id, annotator)
QUALIFY row_number() OVER (PARTITION BY batch_id, pair_id, annotator
                           ORDER BY annotated_at DESC NULLS LAST, created_at DESC, annotation_id DESC) = 1
