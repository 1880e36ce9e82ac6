-- The annotators' majority verdict against the stored label, per batch and source, with '*' for every source and
-- for every batch (the imported annotations, batch NULL, included). Each annotator's vote on a pair is their latest
-- annotation of it in the batch (in '*': across batches); the pair's majority is the plurality of those votes, and a
-- pair whose top verdicts tie is split: counted in `split`, left out of everything else.
-- Both sides are put in one orientation, so that kappa compares like with like: A (the response with the smaller
-- content hash is better), B (the other one) or tie. The label says its chosen response (tie on a tie pair); the
-- majority says the chosen response (verdict chosen), the rejected one (rejected) or tie.
--   pairs: annotated pairs with a majority; agree: those where majority and label say the same (on a preference
--   pair: the majority verdict is chosen); accuracy = agree / pairs; kappa: Cohen's kappa between label and
--   majority over A/B/tie, NULL when chance agreement is 1.
WITH oriented AS (
    SELECT
        m.batch_id, m.source, m.pair_id, m.verdict,
        CASE WHEN p.tie THEN ${Position.TIE} WHEN p.chosen_hash < p.rejected_hash THEN ${Position.A} ELSE ${Position.B} END AS label_side,
        CASE m.verdict
            WHEN ${Verdict.TIE} THEN ${Position.TIE}
            WHEN ${Verdict.CHOSEN} THEN CASE WHEN p.chosen_hash < p.rejected_hash THEN ${Position.A} ELSE ${Position.B} END
            WHEN ${Verdict.REJECTED} THEN CASE WHEN p.chosen_hash < p.rejected_hash THEN ${Position.B} ELSE ${Position.A} END
        END AS human_side
    FROM human_majority m
    JOIN pairs p USING (pair_id)
),
counted AS (
    SELECT
        batch_id,
        CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
        count(*) FILTER (human_side IS NOT NULL) AS pairs,
        count(*) FILTER (human_side = label_side) AS agree,
        count(*) FILTER (human_side IS NULL) AS split,
        (count(*) FILTER (human_side = ${Position.A}) * count(*) FILTER (human_side IS NOT NULL AND label_side = ${Position.A})
         + count(*) FILTER (human_side = ${Position.B}) * count(*) FILTER (human_side IS NOT NULL AND label_side = ${Position.B})
         + count(*) FILTER (human_side = ${Position.TIE}) * count(*) FILTER (human_side IS NOT NULL AND label_side = ${Position.TIE}))
            / nullif(count(*) FILTER (human_side IS NOT NULL) * count(*) FILTER (human_side IS NOT NULL), 0) AS expected
    FROM oriented
    GROUP BY GROUPING SETS ((batch_id, source), (batch_id))
)
SELECT
    batch_id,
    source,
    pairs,
    agree,
    round(agree / nullif(pairs, 0), 4) AS accuracy,
    round(CASE WHEN expected < 1 THEN (agree / pairs - expected) / (1 - expected) END, 4) AS kappa,
    split
FROM counted
ORDER BY batch_id IS NOT DISTINCT FROM '*', batch_id NULLS LAST, source = '*', source
