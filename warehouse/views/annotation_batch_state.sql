-- Where each pushed batch stands: its tasks, how many have at least one annotation (started) and how many
-- have all the annotations the batch asked for (done: distinct annotators >= overlap), and its state.
-- Annotation takes days: a scheduled pull moves batches along, and nothing waits for them.
WITH per_task AS (
    SELECT t.batch_id, t.pair_id, count(DISTINCT a.annotator) AS annotators
    FROM annotation_tasks t
    LEFT JOIN annotations_latest a ON a.batch_id = t.batch_id AND a.pair_id = t.pair_id
    GROUP BY t.batch_id, t.pair_id
)
SELECT
    b.batch_id,
    b.project,
    b.created_at AS pushed_at,
    b.overlap,
    count(t.pair_id) AS tasks,
    count(t.pair_id) FILTER (t.annotators > 0) AS started,
    count(t.pair_id) FILTER (t.annotators >= b.overlap) AS done,
    coalesce(sum(t.annotators), 0) AS annotators_total,
    CASE
        WHEN count(t.pair_id) > 0 AND count(t.pair_id) FILTER (t.annotators >= b.overlap) = count(t.pair_id) THEN ${BatchState.DONE}
        WHEN count(t.pair_id) FILTER (t.annotators > 0) > 0 THEN ${BatchState.PARTLY_DONE}
        ELSE ${BatchState.PUSHED}
    END AS state
FROM annotation_batches b
LEFT JOIN per_task t USING (batch_id)
GROUP BY ALL
ORDER BY pushed_at DESC
