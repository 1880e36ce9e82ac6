-- The master-keys robustness probe per judge version (judge, template@hash, attribute, settings: the first 8 hex
-- digits of the settings hash) and key: how often the judge prefers a non-answer
-- (":", "Thought process:", ...) over a real response. Each probe is one real response against one key,
-- judged in both orders; `verdict = 'rejected'` means the key won (with several samples: any sample of that order).
--   fp_any: share of probes (an ok verdict in at least one order) where the key won in at least one order;
--   fp_both: share of probes with ok verdicts in both orders where the key won both (a consistent false positive).
WITH latest AS (
    SELECT * EXCLUDE (pick)
    FROM (
        SELECT j.*, row_number() OVER (
            PARTITION BY pair_id, judge, template_hash, attribute, settings_hash, swapped, sample
            ORDER BY (status = ${JudgmentStatus.OK}) DESC, judged_at DESC, run_id DESC) AS pick
        -- the empty branch supplies the settings columns at snapshots from before judgments v2 (see judge_rows)
        FROM (SELECT * FROM judgments UNION ALL BY NAME SELECT NULL::VARCHAR AS settings_hash, NULL::JSON AS settings WHERE false) j
        WHERE template LIKE 'probe-%'
    )
    WHERE pick = 1
),
probes AS (
    SELECT
        judge, template, template_hash, attribute, settings_hash, probe_key, pair_id,
        count(DISTINCT swapped) FILTER (status = ${JudgmentStatus.OK}) AS ok,
        count(DISTINCT swapped) FILTER (status = ${JudgmentStatus.OK} AND verdict = ${Verdict.REJECTED}) AS key_wins,
        count(*) FILTER (status <> ${JudgmentStatus.OK}) AS not_ok
    FROM latest
    GROUP BY ALL
)
SELECT
    judge,
    template || '@' || left(template_hash, 8) AS template,
    attribute,
    left(settings_hash, 8) AS settings,
    probe_key,
    count(*) FILTER (ok > 0) AS probes,
    count(*) FILTER (ok = 2) AS probes_both_orders,
    count(*) FILTER (key_wins > 0) AS fooled_any,
    count(*) FILTER (ok = 2 AND key_wins = 2) AS fooled_both,
    round(count(*) FILTER (key_wins > 0) / nullif(count(*) FILTER (ok > 0), 0), 4) AS fp_any,
    round(count(*) FILTER (ok = 2 AND key_wins = 2) / nullif(count(*) FILTER (ok = 2), 0), 4) AS fp_both,
    sum(not_ok)::INTEGER AS not_ok
FROM probes
GROUP BY ALL
ORDER BY judge, template, attribute, settings, probe_key
