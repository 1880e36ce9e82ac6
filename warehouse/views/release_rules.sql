-- What each rule of each release did: per release and rule (decision and reason code), the pairs it decided and
-- their share of the release's candidates, how many had a fused score, the estimated precision (for a drop or a
-- flip the mean fused P(wrong) of those pairs, the share expected to be mislabeled; for a keep 1 - that mean, the
-- share expected right) and the mean score of the noise method the policy read. Pairs are counted from
-- release_rows; the estimates were measured at the release's snapshot and stored in releases.counts (rules), so a
-- later noise run never changes them. Releases made before they were stored show NULL estimates.
WITH per_rule AS (
    SELECT release, decision, reason, count(*) AS pairs
    FROM release_rows
    GROUP BY ALL
)
SELECT
    r.name AS release,
    d.decision,
    d.reason,
    d.pairs,
    round(d.pairs / sum(d.pairs) OVER (PARTITION BY r.name), 4) AS share,
    CAST(json_extract(r.counts, '$.rules."' || d.decision || ':' || d.reason || '".scored') AS BIGINT) AS scored,
    CAST(json_extract(r.counts, '$.rules."' || d.decision || ':' || d.reason || '".est_precision') AS DOUBLE) AS est_precision,
    CAST(json_extract(r.counts, '$.rules."' || d.decision || ':' || d.reason || '".mean_score') AS DOUBLE) AS mean_score
FROM releases r
JOIN per_rule d ON d.release = r.name
ORDER BY r.created_at, r.name, d.decision, d.pairs DESC, d.reason
