-- The master-keys probe in one line per judge version: false-positive rates over every key, and the
-- key that fooled the judge most often (judge_probe has every key).
SELECT
    judge,
    template,
    attribute,
    settings,
    sum(probes)::INTEGER AS probes,
    count(*) AS keys,
    round(sum(fooled_any) / nullif(sum(probes), 0), 4) AS fp_any,
    round(sum(fooled_both) / nullif(sum(probes_both_orders), 0), 4) AS fp_both,
    arg_max(probe_key, fp_any) AS worst_key,
    max(fp_any) AS worst_key_fp_any,
    sum(not_ok)::INTEGER AS not_ok
FROM judge_probe
GROUP BY judge, template, attribute, settings
ORDER BY judge, template, attribute, settings
