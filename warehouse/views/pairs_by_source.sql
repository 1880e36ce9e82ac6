-- Pairs per source: size, ties, stated strength, languages and annotators.
SELECT
    source,
    count(*) AS pairs,
    count(DISTINCT prompt_id) AS prompts,
    count(*) FILTER (tie) AS ties,
    count(strength) AS with_strength,
    count(DISTINCT language) AS languages,
    count(DISTINCT annotator) AS annotators
FROM pairs
GROUP BY source
ORDER BY pairs DESC, source
