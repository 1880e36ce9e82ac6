-- Per rubric writer, status and reason: what the consistency filter made of the rubrics it wrote.
-- `rubrics` counts every attempt with that outcome; `pairs` the pairs whose final outcome it is, and
-- `mean_attempts` how many tries those pairs took (attempts are numbered on across runs). `mean_accuracy` is
-- the share of checked labels the rubric-conditioned judge reproduced in both orders, over the attempts checked.
SELECT
    generator,
    status,
    reason,
    count(*) AS rubrics,
    count(DISTINCT pair_id) FILTER (final) AS pairs,
    round(avg(accuracy), 4) AS mean_accuracy,
    round(avg(attempt) FILTER (final), 2) AS mean_attempts
FROM rubrics
GROUP BY ALL
ORDER BY generator, status, reason NULLS FIRST
