-- Response lengths (characters) per source, and how often the chosen response is the longer one
-- (ties and equal lengths excluded): a first look at length bias in the labels.
SELECT
    source,
    count(*) AS pairs,
    round(avg(len(prompt)), 2) AS avg_prompt_turns,
    round(avg(length(chosen.content)), 1) AS avg_chosen_chars,
    round(avg(length(rejected.content)), 1) AS avg_rejected_chars,
    median(length(chosen.content)) AS median_chosen_chars,
    median(length(rejected.content)) AS median_rejected_chars,
    round(
        count(*) FILTER (NOT tie AND length(chosen.content) > length(rejected.content))
        / nullif(count(*) FILTER (NOT tie AND length(chosen.content) <> length(rejected.content)), 0),
        4
    ) AS chosen_longer_rate
FROM pairs
GROUP BY source
ORDER BY source
