-- Per release: its parent, the snapshot it read, its policy hash, pairs per decision, pairs per split,
-- and rows per reason code. Computed from release_rows, so it also checks releases.counts.
WITH per_decision AS (
    SELECT
        release,
        count(*) AS pairs,
        count(*) FILTER (decision = ${Decision.KEEP}) AS kept,
        count(*) FILTER (decision = ${Decision.FLIP}) AS flipped,
        count(*) FILTER (decision = ${Decision.DROP}) AS dropped
    FROM release_rows
    GROUP BY release
),
per_split AS (
    SELECT release, string_agg(split || '=' || n, ' ' ORDER BY split) AS splits
    FROM (SELECT release, split, count(*) AS n FROM release_rows WHERE split IS NOT NULL GROUP BY ALL)
    GROUP BY release
),
per_reason AS (
    SELECT release, string_agg(reason || '=' || n, ' ' ORDER BY n DESC, reason) AS reasons
    FROM (SELECT release, reason, count(*) AS n FROM release_rows GROUP BY ALL)
    GROUP BY release
)
SELECT
    r.name AS release,
    r.parent,
    r.snapshot_id,
    r.policy_hash,
    coalesce(d.pairs, 0) AS pairs,
    coalesce(d.kept, 0) AS kept,
    coalesce(d.flipped, 0) AS flipped,
    coalesce(d.dropped, 0) AS dropped,
    s.splits,
    c.reasons,
    r.created_at
FROM releases r
LEFT JOIN per_decision d ON d.release = r.name
LEFT JOIN per_split s ON s.release = r.name
LEFT JOIN per_reason c ON c.release = r.name
ORDER BY r.created_at, r.name
