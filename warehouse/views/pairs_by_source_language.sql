-- Pairs per source and language: size, distinct prompts, ties, and the language's share of its source.
-- (Totals per source alone: pairs_by_source; per language alone: pairs_by_language.)
SELECT
    source,
    language,
    count(*) AS pairs,
    count(DISTINCT prompt_id) AS prompts,
    count(*) FILTER (tie) AS ties,
    round(count(*) / sum(count(*)) OVER (PARTITION BY source), 4) AS share_of_source
FROM pairs
GROUP BY source, language
ORDER BY source, pairs DESC, language
