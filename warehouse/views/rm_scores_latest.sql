-- rm_scores as of the latest run of each pair and method: all member rows (model_id, fold) of that run,
-- same columns. The noise stage appends and never deletes; latest = greatest created_at, then run_id
-- (as in noise_scores_latest). A noise run writes every pair of each method it computes, so for the
-- stage's own rows this is exactly the rows of the method's latest run.
WITH ranked AS (
    SELECT *, first_value(run_id) OVER (
        PARTITION BY pair_id, method ORDER BY created_at DESC NULLS LAST, run_id DESC NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS latest_run
    FROM rm_scores
)
SELECT * EXCLUDE (latest_run) FROM ranked WHERE run_id IS NOT DISTINCT FROM latest_run
