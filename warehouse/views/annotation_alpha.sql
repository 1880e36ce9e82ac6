-- Krippendorff's alpha of the annotations, per batch and source, with '*' for every source and for every batch
-- (the imported annotations, batch NULL, included). Each annotator gives one value per pair: their latest
-- annotation of it in the batch (in '*': across batches). Units: pairs with at least two annotators' verdicts;
-- only pairable values count (a pair one annotator judged adds nothing).
--   alpha_verdict: nominal metric on verdict; alpha_strength: interval metric on strength (-3..3), over the units
--   with two or more strengths. Both by the coincidence matrix: alpha = 1 - (n - 1) * sum_o / sum_e, where
--   sum_o sums each unit's ordered value pairs' distances divided by (values in the unit - 1), sum_e the
--   distances of every ordered pair of the n pairable values; NULL when sum_e = 0 (a single value throughout).
--   annotations: pairable verdicts (n); annotators: distinct annotators among them.
WITH strengths AS (
    SELECT
        batch_id, pair_id,
        list(annotator) AS annotators,
        count(strength) AS ms,
        coalesce(sum(strength::DOUBLE), 0) AS s1,
        coalesce(sum(strength::DOUBLE * strength::DOUBLE), 0) AS s2
    FROM annotation_votes
    GROUP BY batch_id, pair_id
),
units AS (
    SELECT
        h.batch_id, h.source, h.pair_id,
        s.annotators,
        h.annotators AS m,
        h.n_chosen AS m_chosen,
        h.n_rejected AS m_rejected,
        h.n_tie AS m_tie,
        s.ms, s.s1, s.s2
    FROM human_majority h
    JOIN strengths s ON s.batch_id IS NOT DISTINCT FROM h.batch_id AND s.pair_id = h.pair_id
    WHERE h.annotators >= 2
),
sums AS (
    SELECT
        batch_id,
        CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
        count(*) AS units,
        sum(m) AS n,
        len(list_distinct(flatten(list(annotators)))) AS annotators,
        sum((m * m - m_chosen * m_chosen - m_rejected * m_rejected - m_tie * m_tie) / (m - 1)) AS o_verdict,
        sum(m) * sum(m) - sum(m_chosen) * sum(m_chosen) - sum(m_rejected) * sum(m_rejected) - sum(m_tie) * sum(m_tie) AS e_verdict,
        sum(ms) FILTER (ms >= 2) AS ns,
        sum((2 * ms * s2 - 2 * s1 * s1) / (ms - 1)) FILTER (ms >= 2) AS o_strength,
        2 * sum(ms) FILTER (ms >= 2) * sum(s2) FILTER (ms >= 2) - 2 * sum(s1) FILTER (ms >= 2) * sum(s1) FILTER (ms >= 2) AS e_strength
    FROM units
    GROUP BY GROUPING SETS ((batch_id, source), (batch_id))
)
SELECT
    batch_id,
    source,
    units,
    n AS annotations,
    annotators,
    round(1 - (n - 1) * o_verdict / nullif(e_verdict, 0), 4) AS alpha_verdict,
    round(1 - (ns - 1) * o_strength / nullif(e_strength, 0), 4) AS alpha_strength
FROM sums
ORDER BY batch_id IS NOT DISTINCT FROM '*', batch_id NULLS LAST, source = '*', source
