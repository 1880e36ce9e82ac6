-- Each annotator's record, per batch and source, with '*' for every source and for every batch (the imported
-- annotations, batch NULL, included).
--   annotations: their annotations (latest versions; an edit is not a second one); pairs: distinct pairs judged;
--   compared: pairs where the OTHER annotators' votes have a majority (leave-one-out: each annotator's latest vote
--   on the pair in the batch, in '*' across batches; pairs nobody else judged, or where the others tie, are left
--   out); agreement: share of those where this annotator's latest vote is that majority;
--   mean_lead_time: mean seconds spent per annotation;
--   ds_accuracy: the reliability the latest noise run that names them (`human:<annotator>`) estimated by its
--   Dawid-Skene fusion (noise_reliabilities); NULL before any noise run named them.
WITH scoped AS (
    SELECT a.* EXCLUDE (batch_id), unnest([a.batch_id, '*']) AS batch_id, p.source
    FROM annotations_latest a
    JOIN pairs p USING (pair_id)
    WHERE a.verdict IS NOT NULL
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY batch_id, pair_id, annotator
                           ORDER BY annotated_at DESC NULLS LAST, created_at DESC, annotation_id DESC) = 1 AS is_vote
    FROM scoped
),
others AS (
    SELECT
        *,
        sum((is_vote AND verdict = ${Verdict.CHOSEN})::INTEGER) OVER pair - (is_vote AND verdict = ${Verdict.CHOSEN})::INTEGER AS o_chosen,
        sum((is_vote AND verdict = ${Verdict.REJECTED})::INTEGER) OVER pair - (is_vote AND verdict = ${Verdict.REJECTED})::INTEGER AS o_rejected,
        sum((is_vote AND verdict = ${Verdict.TIE})::INTEGER) OVER pair - (is_vote AND verdict = ${Verdict.TIE})::INTEGER AS o_tie
    FROM ranked
    WINDOW pair AS (PARTITION BY batch_id, pair_id)
),
loo AS (
    SELECT
        *,
        CASE
            WHEN NOT is_vote THEN NULL
            WHEN o_chosen > o_rejected AND o_chosen > o_tie THEN ${Verdict.CHOSEN}
            WHEN o_rejected > o_chosen AND o_rejected > o_tie THEN ${Verdict.REJECTED}
            WHEN o_tie > o_chosen AND o_tie > o_rejected THEN ${Verdict.TIE}
        END AS others_majority
    FROM others
),
counted AS (
    SELECT
        batch_id,
        CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
        annotator,
        count(*) AS annotations,
        count(DISTINCT pair_id) AS pairs,
        count(others_majority) AS compared,
        count(*) FILTER (verdict = others_majority) AS agreeing,
        avg(lead_time) AS mean_lead_time
    FROM loo
    GROUP BY GROUPING SETS ((batch_id, source, annotator), (batch_id, annotator))
),
ds AS (
    SELECT annotator[length('human:') + 1:] AS annotator, arg_max(reliability, finished_at) AS ds_accuracy
    FROM noise_reliabilities
    WHERE starts_with(annotator, 'human:') AND reliability IS NOT NULL
    GROUP BY annotator
)
SELECT
    c.batch_id,
    c.source,
    c.annotator,
    c.annotations,
    c.pairs,
    c.compared,
    round(c.agreeing / nullif(c.compared, 0), 4) AS agreement,
    round(c.mean_lead_time, 4) AS mean_lead_time,
    d.ds_accuracy
FROM counted c
LEFT JOIN ds d USING (annotator)
ORDER BY c.batch_id IS NOT DISTINCT FROM '*', c.batch_id NULLS LAST, c.source = '*', c.source, c.annotator
