-- Each annotator's record, per batch and source, with '*' for every source and for every batch (the imported
-- annotations, batch NULL, included).
--   annotations: their annotations (latest versions; an edit is not a second one); pairs: distinct pairs judged;
--   compared: pairs where the OTHER annotators' votes have a majority (leave-one-out: each annotator's latest vote
--   on the pair in the batch, in '*' across batches; pairs nobody else judged, or where the others tie, are left
--   out); agreement: share of those where this annotator's latest vote is that majority;
--   mean_lead_time: mean seconds spent per annotation;
--   ds_accuracy: the reliability the latest noise run that names them (`human:<annotator>`) estimated by its
--   Dawid-Skene fusion (noise_reliabilities); NULL before any noise run named them.
WITH others AS (
    SELECT
        v.*,
        h.n_chosen - (v.verdict = ${Verdict.CHOSEN})::INTEGER AS o_chosen,
        h.n_rejected - (v.verdict = ${Verdict.REJECTED})::INTEGER AS o_rejected,
        h.n_tie - (v.verdict = ${Verdict.TIE})::INTEGER AS o_tie
    FROM annotation_votes v
    JOIN human_majority h ON h.batch_id IS NOT DISTINCT FROM v.batch_id AND h.pair_id = v.pair_id
),
loo AS (
    SELECT
        *,
        CASE
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
        sum(annotations)::BIGINT AS annotations,
        count(*) AS pairs,
        count(others_majority) AS compared,
        count(*) FILTER (verdict = others_majority) AS agreeing,
        sum(total_lead_time) / nullif(sum(timed), 0) AS mean_lead_time
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
