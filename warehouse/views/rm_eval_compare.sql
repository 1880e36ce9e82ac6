-- Reward models side by side: held-out pairwise accuracy per eval set and training release (the latest run of
-- each release, base model and train size), so "does curation make better reward models" is one query:
--   SELECT * FROM rm_eval_compare WHERE eval_set = 'hh-base:test'
-- Equal eval_set names mean the same held-out pairs with the same (as ingested) labels.
WITH latest AS (
    SELECT *
    FROM rm_evals
    QUALIFY row_number() OVER (PARTITION BY eval_set, release, base_model, train_pairs ORDER BY created_at DESC) = 1
)
SELECT
    e.eval_set,
    e.release,
    r.parent,
    r.policy_hash,
    e.base_model,
    e.device,
    e.train_pairs,
    e.eval_pairs,
    round(e.accuracy, 4) AS accuracy,
    round(e.accuracy - max(e.accuracy) OVER (PARTITION BY e.eval_set, e.base_model), 4) AS vs_best,
    round(e.train_seconds, 1) AS train_seconds,
    e.run_id,
    e.created_at
FROM latest e
LEFT JOIN releases r ON r.name = e.release
ORDER BY e.eval_set, e.base_model, e.accuracy DESC, e.release
