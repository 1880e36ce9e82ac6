-- noise_scores as of the latest run of each pair and method: one row per (pair_id, method), same columns.
-- The noise stage appends and never deletes, so a rerun leaves the earlier runs' rows in noise_scores;
-- this is what readers (releases, facts, noise_pair_scores) take. Latest = greatest created_at, then
-- run_id (run ids sort by time), then score. A noise run writes every pair of each method it computes,
-- so for the stage's own rows this is exactly the rows of the method's latest run.
SELECT * FROM noise_scores
QUALIFY row_number() OVER (PARTITION BY pair_id, method ORDER BY created_at DESC NULLS LAST, run_id DESC NULLS LAST,
                                                                 score DESC NULLS LAST) = 1
