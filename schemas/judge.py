"""Judge evidence: one row per judged order and sample. Verdicts, never decisions."""

from dataclasses import replace

from schemas.tables import AddColumns, Column, Table

JUDGMENTS_V1 = Table(
    name="judgments",
    version=1,
    key=("pair_id", "judge", "template_hash", "attribute", "swapped", "sample", "run_id"),
    doc="One LLM-judge verdict per pair, presentation order and sample. Verdicts are evidence; release policies decide. "
    "Probe rows (template 'probe-...') judge synthetic pairs that are not in pairs.",
    columns=(
        Column("pair_id", "VARCHAR", "the judged pair"),
        Column("judge", "VARCHAR", "judge identity: endpoint host and model name"),
        Column("template", "VARCHAR", "prompt template name; 'probe-<name>/<template>' for robustness-probe rows"),
        Column("template_hash", "VARCHAR", "hash of the template text (with its rubric or principle, when any)"),
        Column("attribute", "VARCHAR", "the attribute judged (overall, helpfulness, harmlessness, honesty, ...)"),
        Column("swapped", "BOOLEAN", "false: the pair's chosen response was shown as A; true: it was shown as B"),
        Column("sample", "INTEGER", "0-based sample index (self-consistency samples at temperature > 0)"),
        Column("winner", "VARCHAR", "the position the judge picked: A, B or tie (NULL when status is not ok)"),
        Column("verdict", "VARCHAR", "the winner mapped back to the pair: chosen, rejected or tie"),
        Column("strength", "DOUBLE", "the judge's stated strength or confidence, 0..1"),
        Column("p_verdict", "DOUBLE", "probability of the winner token from logprobs, when the endpoint returns them"),
        Column("rationale", "VARCHAR", "the judge's short rationale"),
        Column("status", "VARCHAR", "ok, unparseable (output kept in llm_requests) or failed (request failed)"),
        Column("error", "VARCHAR", "why status is not ok"),
        Column("parse_attempts", "INTEGER", "requests made for this verdict, stricter re-asks included"),
        Column("request_hash", "VARCHAR", "the llm_requests row of the answer used"),
        Column("prompt_tokens", "INTEGER", "prompt tokens of the requests behind this verdict, re-asks included"),
        Column("completion_tokens", "INTEGER", "completion tokens of the requests behind this verdict, re-asks included"),
        Column("cost_usd", "DOUBLE", "cost of those requests from the price table (a cached answer keeps the cost it had when sent); "
               "NULL when unknown: a remote model missing from the price table"),
        Column("probe_key", "VARCHAR", "the non-answer a robustness-probe row paired with a real response (probe rows only)"),
        Column("run_id", "VARCHAR", "run that wrote the row"),
        Column("judged_at", "TIMESTAMPTZ", "when the row was written"),
    ),
)
"""judgments as ``003_judge`` creates it; v2 adds the sampling settings."""

JUDGMENTS = replace(
    JUDGMENTS_V1,
    version=2,
    key=(*JUDGMENTS_V1.key[:4], "settings_hash", *JUDGMENTS_V1.key[4:]),
    columns=(
        *JUDGMENTS_V1.columns,
        Column("settings_hash", "VARCHAR", "hash of the sampling settings (NULL: written before judgments v2, settings unknown)"),
        Column("settings", "JSON", "the sampling settings the verdict was made with: temperature, seed, max_tokens, samples, "
               "output_mode, logprobs, top_logprobs, max_chars, max_parse_retries"),
    ),
)
"""The judgments table now: a judge version is (judge, template_hash, attribute, settings_hash)."""

TABLES: tuple[Table, ...] = (JUDGMENTS_V1,)
"""What ``003_judge`` creates."""

SETTINGS_CHANGES: tuple[AddColumns, ...] = (AddColumns(JUDGMENTS, JUDGMENTS_V1),)
"""What ``009_judge_settings`` adds to a warehouse's judgments."""

JUDGE_PAIR_VERDICTS = "judge_pair_verdicts"
"""View (``warehouse/views``): one verdict per pair, judge, attribute and sample, with its position consistency."""
JUDGE_MAJORITY = "judge_majority"
"""View: per judge version (and '*' for all) and pair, the plurality of the position-consistent verdicts."""
