-- One row per pair and judge version (judge, template_hash, attribute, settings_hash): the verdict that counts.
-- settings_hash is NULL for rows written before the settings were recorded (judgments v1).
-- Each order's verdict is the strict majority of its ok samples (with one sample: that sample's verdict).
-- A pair is consistent when both orders have one and they agree; only then is `verdict` set.
-- Inconsistent pairs are kept with verdict NULL. Noise scoring and releases read this view.
WITH per_order AS (
    SELECT
        pair_id, judge, template_hash, attribute, settings_hash, swapped,
        any_value(template) AS template,
        count(*) FILTER (status = ${JudgmentStatus.OK}) AS ok_votes,
        count(*) FILTER (status <> ${JudgmentStatus.OK}) AS not_ok,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND verdict = ${Verdict.CHOSEN}) AS chosen_votes,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND verdict = ${Verdict.REJECTED}) AS rejected_votes,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND verdict = ${Verdict.TIE}) AS tie_votes,
        avg(p_verdict) FILTER (status = ${JudgmentStatus.OK}) AS mean_p
    FROM judge_rows
    GROUP BY ALL
),
majority AS (
    SELECT
        *,
        CASE
            WHEN chosen_votes * 2 > ok_votes THEN ${Verdict.CHOSEN}
            WHEN rejected_votes * 2 > ok_votes THEN ${Verdict.REJECTED}
            WHEN tie_votes * 2 > ok_votes THEN ${Verdict.TIE}
        END AS order_verdict
    FROM per_order
)
SELECT
    pair_id,
    judge,
    any_value(template) AS template,
    template_hash,
    attribute,
    settings_hash,
    count(order_verdict) = 2 AS both_orders,
    count(order_verdict) = 2 AND count(DISTINCT order_verdict) = 1 AS consistent,
    CASE WHEN count(order_verdict) = 2 AND count(DISTINCT order_verdict) = 1 THEN any_value(order_verdict) END AS verdict,
    any_value(order_verdict) FILTER (NOT swapped) AS verdict_chosen_as_a,
    any_value(order_verdict) FILTER (swapped) AS verdict_chosen_as_b,
    sum(ok_votes)::INTEGER AS votes,
    sum(chosen_votes)::INTEGER AS chosen_votes,
    sum(rejected_votes)::INTEGER AS rejected_votes,
    sum(tie_votes)::INTEGER AS tie_votes,
    sum(not_ok)::INTEGER AS not_ok,
    sum(mean_p * ok_votes) / nullif(sum(ok_votes) FILTER (mean_p IS NOT NULL), 0) AS mean_p
FROM majority
GROUP BY pair_id, judge, template_hash, attribute, settings_hash
