-- Per judge version (judge, template, attribute) and pair, and over all of them (judge '*'): the plurality of the
-- position-consistent verdicts, NULL when the top verdicts tie. What the human-agreement views compare people with.
WITH judged AS (
    SELECT judge || ' ' || template || ' ' || attribute AS judge, pair_id, verdict
    FROM judge_pair_verdicts
    WHERE consistent
),
counted AS (
    SELECT
        judge, pair_id,
        count(*) FILTER (verdict = ${Verdict.CHOSEN}) AS n_chosen,
        count(*) FILTER (verdict = ${Verdict.REJECTED}) AS n_rejected,
        count(*) FILTER (verdict = ${Verdict.TIE}) AS n_tie
    FROM (SELECT * FROM judged UNION ALL SELECT '*' AS judge, pair_id, verdict FROM judged)
    GROUP BY judge, pair_id
)
SELECT
    judge, pair_id,
    CASE
        WHEN n_chosen > n_rejected AND n_chosen > n_tie THEN ${Verdict.CHOSEN}
        WHEN n_rejected > n_chosen AND n_rejected > n_tie THEN ${Verdict.REJECTED}
        WHEN n_tie > n_chosen AND n_tie > n_rejected THEN ${Verdict.TIE}
    END AS verdict
FROM counted
