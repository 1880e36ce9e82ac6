-- Cohen's kappa for every two annotators (annotator_a < annotator_b) over the pairs both judged, per batch and
-- source, with '*' for every source and for every batch (the imported annotations, batch NULL, included). Each
-- annotator's vote on a pair is their latest annotation of it in the batch (in '*': across batches), by
-- annotated_at, then created_at; categories are the verdicts (chosen, rejected, tie).
--   observed: share of the pairs where the two verdicts agree; expected: the agreement their own verdict shares
--   predict by chance (sum over categories of p_a * p_b); kappa = (observed - expected) / (1 - expected),
--   NULL when expected = 1 (both always gave the same one verdict).
WITH both_judged AS (
    SELECT a.batch_id, a.source, a.annotator AS annotator_a, b.annotator AS annotator_b, a.verdict AS va, b.verdict AS vb
    FROM annotation_votes a
    JOIN annotation_votes b ON b.batch_id IS NOT DISTINCT FROM a.batch_id AND b.pair_id = a.pair_id AND a.annotator < b.annotator
),
counted AS (
    SELECT
        batch_id,
        CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
        annotator_a,
        annotator_b,
        count(*) AS items,
        count(*) FILTER (va = vb) / count(*) AS observed,
        (count(*) FILTER (va = ${Verdict.CHOSEN}) * count(*) FILTER (vb = ${Verdict.CHOSEN})
         + count(*) FILTER (va = ${Verdict.REJECTED}) * count(*) FILTER (vb = ${Verdict.REJECTED})
         + count(*) FILTER (va = ${Verdict.TIE}) * count(*) FILTER (vb = ${Verdict.TIE})) / (count(*) * count(*)) AS expected
    FROM both_judged
    GROUP BY GROUPING SETS ((batch_id, source, annotator_a, annotator_b), (batch_id, annotator_a, annotator_b))
)
SELECT
    batch_id,
    source,
    annotator_a,
    annotator_b,
    items,
    round(observed, 4) AS observed,
    round(expected, 4) AS expected,
    round(CASE WHEN expected < 1 THEN (observed - expected) / (1 - expected) END, 4) AS kappa
FROM counted
ORDER BY batch_id IS NOT DISTINCT FROM '*', batch_id NULLS LAST, source = '*', source, annotator_a, annotator_b
