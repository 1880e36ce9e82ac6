-- The judgments the judge views read: per pair, judge version (judge, template version, attribute,
-- sampling settings), order and sample, the latest ok row (else the latest row of any status). A --rejudge appends rather than overwrites,
-- so this picks one row per key. Robustness-probe rows (template 'probe-...') are left out.
-- The empty UNION ALL BY NAME branch supplies the v2 settings columns as NULL at snapshots from before they were
-- added (a warehouse upgraded from judgments v1, read with --at), so the judge views work at any snapshot.
SELECT * EXCLUDE (pick)
FROM (
    SELECT
        j.*,
        row_number() OVER (
            PARTITION BY pair_id, judge, template_hash, attribute, settings_hash, swapped, sample
            ORDER BY (status = ${JudgmentStatus.OK}) DESC, judged_at DESC, run_id DESC
        ) AS pick
    FROM (SELECT * FROM judgments UNION ALL BY NAME SELECT NULL::VARCHAR AS settings_hash, NULL::JSON AS settings WHERE false) j
    WHERE template NOT LIKE 'probe-%'
)
WHERE pick = 1
