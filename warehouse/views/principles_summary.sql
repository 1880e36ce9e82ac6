-- Per extractor, kind of feedback (justification, annotation) and status/reason: the binary principles read
-- out of feedback text, and how many pairs and feedback texts they came from.
SELECT
    generator,
    split_part(feedback_source, ':', 1) AS feedback_source,
    status,
    reason,
    count(*) AS principles,
    count(DISTINCT pair_id) AS pairs,
    count(DISTINCT (pair_id, feedback_source)) AS texts
FROM principles
GROUP BY ALL
ORDER BY generator, feedback_source, status, reason NULLS FIRST
