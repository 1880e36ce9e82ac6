-- Pairs per language, and how many of those labels were detected rather than given.
SELECT
    language,
    count(*) AS pairs,
    round(count(*) / sum(count(*)) OVER (), 4) AS share,
    count(*) FILTER (language_detected) AS detected
FROM pairs
GROUP BY language
ORDER BY pairs DESC, language
