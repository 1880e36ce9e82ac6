-- The annotators' majority verdict against the judge's position-consistent verdict, per batch, source and judge
-- version (named `judge template attribute`; versions that differ only in template text or sampling settings share
-- a name and pool), with '*' for every source, every batch (the imported annotations, batch NULL, included) and
-- every judge version: judge '*' is the plurality of the versions' verdicts on the pair (a tie among them: no
-- verdict). The human majority is the plurality of each annotator's latest vote on the pair in the batch (in '*':
-- across batches); split pairs are left out, as are pairs the judge judged inconsistently.
-- Both verdicts are put in one orientation, as in human_vs_label: A (the response with the smaller content hash is
-- better), B or tie.
--   pairs: pairs with both a human majority and a judge verdict; agree: the two verdicts are the same;
--   accuracy = agree / pairs; kappa: Cohen's kappa between them over A/B/tie, NULL when chance agreement is 1.
WITH judge AS (
    SELECT judge, pair_id, verdict FROM judge_majority
),
oriented AS (
    SELECT
        h.batch_id, h.source, j.judge,
        CASE h.verdict
            WHEN ${Verdict.TIE} THEN ${Position.TIE}
            WHEN ${Verdict.CHOSEN} THEN CASE WHEN p.chosen_hash < p.rejected_hash THEN ${Position.A} ELSE ${Position.B} END
            WHEN ${Verdict.REJECTED} THEN CASE WHEN p.chosen_hash < p.rejected_hash THEN ${Position.B} ELSE ${Position.A} END
        END AS human_side,
        CASE j.verdict
            WHEN ${Verdict.TIE} THEN ${Position.TIE}
            WHEN ${Verdict.CHOSEN} THEN CASE WHEN p.chosen_hash < p.rejected_hash THEN ${Position.A} ELSE ${Position.B} END
            WHEN ${Verdict.REJECTED} THEN CASE WHEN p.chosen_hash < p.rejected_hash THEN ${Position.B} ELSE ${Position.A} END
        END AS judge_side
    FROM human_majority h
    JOIN judge j USING (pair_id)
    JOIN pairs p USING (pair_id)
    WHERE h.verdict IS NOT NULL AND j.verdict IS NOT NULL
),
counted AS (
    SELECT
        batch_id,
        CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
        judge,
        count(*) AS pairs,
        count(*) FILTER (human_side = judge_side) AS agree,
        (count(*) FILTER (human_side = ${Position.A}) * count(*) FILTER (judge_side = ${Position.A})
         + count(*) FILTER (human_side = ${Position.B}) * count(*) FILTER (judge_side = ${Position.B})
         + count(*) FILTER (human_side = ${Position.TIE}) * count(*) FILTER (judge_side = ${Position.TIE}))
            / (count(*) * count(*)) AS expected
    FROM oriented
    GROUP BY GROUPING SETS ((batch_id, source, judge), (batch_id, judge))
)
SELECT
    batch_id,
    source,
    judge,
    pairs,
    agree,
    round(agree / pairs, 4) AS accuracy,
    round(CASE WHEN expected < 1 THEN (agree / pairs - expected) / (1 - expected) END, 4) AS kappa
FROM counted
ORDER BY batch_id IS NOT DISTINCT FROM '*', batch_id NULLS LAST, source = '*', source, judge = '*', judge
