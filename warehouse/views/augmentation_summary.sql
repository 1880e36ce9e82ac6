-- Augmentation candidates per kind, method, attribute and outcome (status, reason). Each candidate counts once, at
-- its latest attempt: one rejected for a passing cause (request_failed, not_checked) is made again by the next run.
-- pairs: the accepted candidates present in pairs (kind causal, neutral or adversarial, with parent_pair_id).
WITH latest AS (
    SELECT *
    FROM augmentations
    QUALIFY row_number() OVER (PARTITION BY augmentation_id ORDER BY created_at DESC, run_id DESC) = 1
)
SELECT
    a.kind,
    a.method,
    a.attribute,
    a.status,
    a.reason,
    count(*) AS candidates,
    count(p.pair_id) AS pairs
FROM latest a
LEFT JOIN pairs p ON p.pair_id = a.pair_id AND a.status = ${AugmentStatus.ACCEPTED}
GROUP BY ALL
ORDER BY a.kind, a.method, a.attribute, a.status, a.reason NULLS FIRST
