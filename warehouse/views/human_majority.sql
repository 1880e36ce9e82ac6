-- The annotators' majority verdict on each pair, per batch, with '*' for every batch (the imported annotations,
-- batch NULL, included): one row per batch and annotated pair, over each annotator's latest vote on it in the batch
-- (in '*': across batches; annotation_votes).
--   n_chosen, n_rejected, n_tie: the votes per verdict; annotators: the votes (one per annotator);
--   verdict: the plurality verdict, NULL when the top verdicts tie; split: true when they do.
WITH tally AS (
    SELECT
        batch_id, source, pair_id,
        count(*) FILTER (verdict = ${Verdict.CHOSEN}) AS n_chosen,
        count(*) FILTER (verdict = ${Verdict.REJECTED}) AS n_rejected,
        count(*) FILTER (verdict = ${Verdict.TIE}) AS n_tie,
        count(*) AS annotators
    FROM annotation_votes
    GROUP BY batch_id, source, pair_id
),
majority AS (
    SELECT
        *,
        CASE
            WHEN n_chosen > n_rejected AND n_chosen > n_tie THEN ${Verdict.CHOSEN}
            WHEN n_rejected > n_chosen AND n_rejected > n_tie THEN ${Verdict.REJECTED}
            WHEN n_tie > n_chosen AND n_tie > n_rejected THEN ${Verdict.TIE}
        END AS verdict
    FROM tally
)
SELECT batch_id, source, pair_id, n_chosen, n_rejected, n_tie, annotators, verdict, verdict IS NULL AS split
FROM majority
