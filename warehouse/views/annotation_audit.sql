-- What the audit sample (annotation_tasks.route_reason 'audit', a uniform random draw) says about the label and the
-- judge without selection bias, per batch and source, with '*' for every source and every batch (the pairs audited
-- in any batch, with every annotation of them). The human majority is the plurality of each annotator's latest vote
-- on the pair in the batch (in '*': across batches); split pairs are left out. The judge's verdict is the plurality
-- of the position-consistent verdicts of its versions (judge '*' in judge_majority).
--   pairs: audited pairs with a human majority; label_wrong: those where the majority prefers a response the label
--   does not (verdict rejected; on a tie pair, any preference); label_wrong_rate = label_wrong / pairs;
--   judge_pairs: those pairs with a judge verdict too; judge_wrong: the judge's verdict differs from the majority;
--   judge_wrong_rate = judge_wrong / judge_pairs. *_low, *_high: the rate's Wilson score interval (95%, z = 1.96).
WITH audited AS (
    SELECT DISTINCT batch_id, pair_id FROM annotation_tasks WHERE route_reason = ${RouteReason.AUDIT}
    UNION
    SELECT DISTINCT '*' AS batch_id, pair_id FROM annotation_tasks WHERE route_reason = ${RouteReason.AUDIT}
),
judge AS (
    SELECT pair_id, verdict FROM judge_majority WHERE judge = '*'
),
counted AS (
    SELECT
        h.batch_id,
        CASE WHEN grouping(h.source) = 1 THEN '*' ELSE h.source END AS source,
        count(*) AS pairs,
        count(*) FILTER (CASE WHEN p.tie THEN h.verdict <> ${Verdict.TIE} ELSE h.verdict = ${Verdict.REJECTED} END) AS label_wrong,
        count(j.verdict) AS judge_pairs,
        count(*) FILTER (j.verdict <> h.verdict) AS judge_wrong
    FROM human_majority h
    JOIN audited a ON a.batch_id = h.batch_id AND a.pair_id = h.pair_id
    JOIN pairs p ON p.pair_id = h.pair_id
    LEFT JOIN judge j ON j.pair_id = h.pair_id
    WHERE h.verdict IS NOT NULL
    GROUP BY GROUPING SETS ((h.batch_id, h.source), (h.batch_id))
),
rates AS (
    SELECT
        *,
        label_wrong / pairs AS lp,
        judge_wrong / nullif(judge_pairs, 0) AS jp,
        1.96 AS z
    FROM counted
)
SELECT
    batch_id,
    source,
    pairs,
    label_wrong,
    round(lp, 4) AS label_wrong_rate,
    round((lp + z * z / (2 * pairs) - z * sqrt(lp * (1 - lp) / pairs + z * z / (4 * pairs * pairs))) / (1 + z * z / pairs), 4)
        AS label_wrong_low,
    round((lp + z * z / (2 * pairs) + z * sqrt(lp * (1 - lp) / pairs + z * z / (4 * pairs * pairs))) / (1 + z * z / pairs), 4)
        AS label_wrong_high,
    judge_pairs,
    judge_wrong,
    round(jp, 4) AS judge_wrong_rate,
    round((jp + z * z / (2 * judge_pairs) - z * sqrt(jp * (1 - jp) / judge_pairs + z * z / (4 * judge_pairs * judge_pairs)))
          / (1 + z * z / judge_pairs), 4) AS judge_wrong_low,
    round((jp + z * z / (2 * judge_pairs) + z * sqrt(jp * (1 - jp) / judge_pairs + z * z / (4 * judge_pairs * judge_pairs)))
          / (1 + z * z / judge_pairs), 4) AS judge_wrong_high
FROM rates
ORDER BY batch_id IS NOT DISTINCT FROM '*', batch_id NULLS LAST, source = '*', source
