-- Each noise run's estimated reliabilities: the accuracy the fused score's Dawid-Skene EM found for every
-- annotator (the source's own label, whose accuracy is 1 - the estimated noise rate, each judge version,
-- the humans) and, for each reward-model source, the accuracy of its margin's sign by its own calibration
-- with its share (weight) of the fused reward-model evidence; from the run's details in runs.counts.
-- Estimates, not settings: nothing here is configured.
SELECT
    r.run_id,
    r.finished_at,
    a.annotator,
    round(CAST(json_extract(r.counts, '$.details.reliabilities.fused."' || a.annotator || '"') AS DOUBLE), 4) AS reliability,
    round(CAST(json_extract(r.counts, '$.details.fusion_weights.fused."' || a.annotator || '"') AS DOUBLE), 4) AS weight
FROM runs r,
     unnest(json_keys(json_extract(r.counts, '$.details.reliabilities.fused'))) AS a(annotator)
WHERE r.stage = 'noise'
ORDER BY r.finished_at DESC, a.annotator
