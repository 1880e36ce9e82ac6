-- One row per pair with every noise method's score side by side (higher = more likely mislabeled),
-- the ensemble's mean and std of the out-of-fold reward margin, and the class noise_summary counts:
--   ambiguous:    the members cannot tell the sign: |mean| < 0.25 of the spread of means over pairs
--                 (components.mean_z) or std over members > |mean|;
--   likely_wrong: otherwise, ensemble mean margin < 0 (the reward models prefer the rejected response);
--   strong:       otherwise.
-- Scores of the latest run of each method (noise_scores_latest); NULL where a method has not been run
-- (judge/human without evidence).
WITH s AS (
    SELECT pair_id, method, score, components FROM noise_scores_latest
),
wide AS (
    SELECT
        pair_id,
        max(score) FILTER (method = ${NoiseMethod.FUSED}) AS fused,
        max(score) FILTER (method = ${NoiseMethod.BT}) AS bt,
        max(score) FILTER (method = ${NoiseMethod.ENSEMBLE}) AS ensemble,
        max(score) FILTER (method = ${NoiseMethod.PEER}) AS peer,
        max(score) FILTER (method = ${NoiseMethod.CONFIDENT}) AS confident,
        max(score) FILTER (method = ${NoiseMethod.JUDGE}) AS judge,
        max(score) FILTER (method = ${NoiseMethod.HUMAN}) AS human,
        max(CAST(components->>'mean' AS DOUBLE)) FILTER (method = ${NoiseMethod.ENSEMBLE}) AS ensemble_mean,
        max(CAST(components->>'std' AS DOUBLE)) FILTER (method = ${NoiseMethod.ENSEMBLE}) AS ensemble_std,
        max(CAST(components->>'mean_z' AS DOUBLE)) FILTER (method = ${NoiseMethod.ENSEMBLE}) AS ensemble_mean_z,
        bool_or(CAST(components->>'issue' AS BOOLEAN)) FILTER (method = ${NoiseMethod.CONFIDENT}) AS confident_issue,
        bool_or(CAST(components->>'near_identical' AS BOOLEAN)) FILTER (method = ${NoiseMethod.FUSED}) AS near_identical,
        max(CAST(components->>'length_diff' AS DOUBLE)) FILTER (method = ${NoiseMethod.FUSED}) AS length_diff,
        max(CAST(components->>'chosen_refusals' AS DOUBLE)) FILTER (method = ${NoiseMethod.FUSED}) AS chosen_refusals,
        max(CAST(components->>'rejected_refusals' AS DOUBLE)) FILTER (method = ${NoiseMethod.FUSED}) AS rejected_refusals
    FROM s
    GROUP BY pair_id
)
SELECT
    p.source,
    w.*,
    CASE
        WHEN w.ensemble_mean IS NULL THEN NULL
        WHEN abs(w.ensemble_mean_z) < 0.25 OR w.ensemble_std > abs(w.ensemble_mean) THEN 'ambiguous'
        WHEN w.ensemble_mean < 0 THEN 'likely_wrong'
        ELSE 'strong'
    END AS ensemble_class
FROM wide w JOIN pairs p USING (pair_id)
