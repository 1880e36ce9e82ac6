-- The judgments the judge views read: per pair, judge, template version, attribute, order and sample,
-- the latest ok row (else the latest row of any status). A --rejudge appends rather than overwrites,
-- so this picks one row per key. Robustness-probe rows (template 'probe-...') are left out.
SELECT * EXCLUDE (pick)
FROM (
    SELECT
        j.*,
        row_number() OVER (
            PARTITION BY pair_id, judge, template_hash, attribute, swapped, sample
            ORDER BY (status = ${JudgmentStatus.OK}) DESC, judged_at DESC, run_id DESC
        ) AS pick
    FROM judgments j
    WHERE template NOT LIKE 'probe-%'
)
WHERE pick = 1
