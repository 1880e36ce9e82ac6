-- Judge quality per judge version (judge, template@hash, attribute, settings), over all sources (source '*') and per
-- source. settings: the first 8 hex digits of judgments.settings_hash (the sampling settings; their JSON is in
-- judgments.settings), NULL for rows written before settings were recorded.
--   consistency: share of pairs judged in both orders whose two verdicts agree (position consistency);
--   tie_rate: share of ok verdicts (rows) that are ties;
--   accuracy: share of consistent, non-tie verdicts on pairs with a non-tie label that pick the label's chosen;
--   kappa: Cohen's kappa between the position the judge picks (A/B/tie) and the position of the label's chosen,
--     over every ok row of a non-tie-labeled pair (both orders: a judge that always says A scores 0);
--   judge_longer / label_longer: how often the consistent non-tie verdict / the label picks the longer
--     response, over the same pairs with responses of different lengths (length bias);
--   unparseable, failed: rows without a verdict. Probe rows are not counted (see judge_probe).
-- The rubric-conditioned judge (template 'rubric', `curate rubrics` and `curate judge --rubrics`) has one template
-- hash per rubric; its rows count as one version, template 'rubric@*'.
WITH labelled AS (
    SELECT r.* REPLACE (CASE WHEN r.template = 'rubric' THEN '*' ELSE r.template_hash END AS template_hash),
           p.source, p.tie AS label_tie, CASE WHEN r.swapped THEN ${Position.B} ELSE ${Position.A} END AS label_position
    FROM judge_rows r
    JOIN pairs p USING (pair_id)
),
verdicts AS (
    SELECT * REPLACE (CASE WHEN template = 'rubric' THEN '*' ELSE template_hash END AS template_hash)
    FROM judge_pair_verdicts
),
row_stats AS (
    SELECT
        judge, template, template_hash, attribute, settings_hash,
        CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
        count(*) FILTER (status = ${JudgmentStatus.OK}) AS ok,
        count(*) FILTER (status = ${JudgmentStatus.UNPARSEABLE}) AS unparseable,
        count(*) FILTER (status = ${JudgmentStatus.FAILED}) AS failed,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND winner = ${Position.TIE}) AS ties,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND NOT label_tie) AS k_n,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND NOT label_tie AND winner = label_position) AS k_agree,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND NOT label_tie AND winner = ${Position.A}) AS k_judge_a,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND NOT label_tie AND winner = ${Position.B}) AS k_judge_b,
        count(*) FILTER (status = ${JudgmentStatus.OK} AND NOT label_tie AND label_position = ${Position.A}) AS k_label_a,
        avg(p_verdict) FILTER (status = ${JudgmentStatus.OK}) AS mean_p
    FROM labelled
    GROUP BY GROUPING SETS ((judge, template, template_hash, attribute, settings_hash),
                            (judge, template, template_hash, attribute, settings_hash, source))
),
pair_stats AS (
    SELECT
        v.judge, v.template, v.template_hash, v.attribute, v.settings_hash,
        CASE WHEN grouping(p.source) = 1 THEN '*' ELSE p.source END AS source,
        count(*) AS pairs,
        count(*) FILTER (v.both_orders) AS both_orders,
        count(*) FILTER (v.consistent) AS consistent,
        count(*) FILTER (v.consistent AND NOT p.tie AND v.verdict <> ${Verdict.TIE}) AS decided,
        count(*) FILTER (v.consistent AND NOT p.tie AND v.verdict = ${Verdict.CHOSEN}) AS agree,
        count(*) FILTER (v.consistent AND NOT p.tie AND v.verdict <> ${Verdict.TIE}
                         AND length(p.chosen.content) <> length(p.rejected.content)) AS unequal,
        count(*) FILTER (v.consistent AND NOT p.tie AND v.verdict <> ${Verdict.TIE}
                         AND length(p.chosen.content) <> length(p.rejected.content)
                         AND (v.verdict = ${Verdict.CHOSEN}) = (length(p.chosen.content) > length(p.rejected.content))) AS judge_longer,
        count(*) FILTER (v.consistent AND NOT p.tie AND v.verdict <> ${Verdict.TIE}
                         AND length(p.chosen.content) > length(p.rejected.content)) AS label_longer
    FROM verdicts v
    JOIN pairs p USING (pair_id)
    GROUP BY GROUPING SETS ((v.judge, v.template, v.template_hash, v.attribute, v.settings_hash),
                            (v.judge, v.template, v.template_hash, v.attribute, v.settings_hash, p.source))
)
SELECT
    s.judge,
    s.template || '@' || left(s.template_hash, 8) AS template,
    s.attribute,
    left(s.settings_hash, 8) AS settings,
    s.source,
    s.pairs,
    s.both_orders,
    round(s.consistent / nullif(s.both_orders, 0), 4) AS consistency,
    round(r.ties / nullif(r.ok, 0), 4) AS tie_rate,
    round(s.agree / nullif(s.decided, 0), 4) AS accuracy,
    round(
        (r.k_agree / nullif(r.k_n, 0)
         - (r.k_judge_a * r.k_label_a + r.k_judge_b * (r.k_n - r.k_label_a)) / nullif(r.k_n * r.k_n, 0))
        / nullif(1 - (r.k_judge_a * r.k_label_a + r.k_judge_b * (r.k_n - r.k_label_a)) / nullif(r.k_n * r.k_n, 0), 0),
        4
    ) AS kappa,
    round(s.judge_longer / nullif(s.unequal, 0), 4) AS judge_longer,
    round(s.label_longer / nullif(s.unequal, 0), 4) AS label_longer,
    round(r.mean_p, 4) AS mean_p,
    r.unparseable,
    r.failed
FROM pair_stats s
JOIN row_stats r
  ON r.judge = s.judge AND r.template = s.template AND r.template_hash = s.template_hash AND r.attribute = s.attribute
 AND r.settings_hash IS NOT DISTINCT FROM s.settings_hash AND r.source = s.source
ORDER BY s.judge, s.template, s.attribute, settings, s.source = '*' DESC, s.source
