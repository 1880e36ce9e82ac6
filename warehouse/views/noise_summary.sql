-- Noise scores per source: how many pairs the reward-model ensemble finds likely wrong, ambiguous or
-- strong (classes and thresholds defined in noise_pair_scores), and quantiles of the fused score
-- (a posterior probability that the label is flipped). Scores only: releases decide.
SELECT
    source,
    count(*) AS pairs,
    count(*) FILTER (ensemble_class = 'likely_wrong') AS likely_wrong,
    count(*) FILTER (ensemble_class = 'ambiguous') AS ambiguous,
    count(*) FILTER (ensemble_class = 'strong') AS strong,
    count(*) FILTER (confident_issue) AS confident_issues,
    count(*) FILTER (near_identical) AS near_identical,
    round(quantile_cont(fused, 0.5), 4) AS fused_p50,
    round(quantile_cont(fused, 0.9), 4) AS fused_p90,
    round(quantile_cont(fused, 0.99), 4) AS fused_p99,
    count(*) FILTER (fused >= 0.5) AS fused_over_0_5
FROM noise_pair_scores
GROUP BY source
ORDER BY source
