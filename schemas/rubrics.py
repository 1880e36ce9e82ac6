"""Rubrics and binary principles: explicit, checkable criteria for a prompt's pairs, with their provenance.

A rubric is written for one pair (its *current* pair) by an LLM that contrasts the prompt's preferred and
rejected responses; its items are hard rules (explicit constraints from the prompt, pass/fail) and principles
(implicit qualities). A rubric-conditioned judge then checks it against the labels of the prompt's pairs, in
both orders (``rubric_checks``; the judge's own rows land in ``judgments`` under template ``rubric``). Every
attempt is a row, kept or not, with the reason it was rejected.

Binary principles (RLBFF) are read out of feedback text a source already has (a justification, an annotator's
reason): yes/no questions with whether each response satisfies them and the span of the text that says so.
"""

from schemas.tables import Column, Table

RUBRIC_ITEM = "STRUCT(type VARCHAR, text VARCHAR)"
"""One rubric item: its type (``hard_rule`` or ``principle``, vocab ``RubricItemType``) and its text."""

RUBRICS = Table(
    name="rubrics",
    version=1,
    key=("rubric_id",),
    doc="One row per generated rubric (each attempt), with its typed items, its generator, the pairs it was "
        "written from and what the consistency filter found.",
    columns=(
        Column("rubric_id", "VARCHAR", "hash of the current pair, generator, generation template and attempt"),
        Column("prompt_id", "VARCHAR", "the prompt the rubric is for"),
        Column("pair_id", "VARCHAR", "the current pair: the one it was written for, which it must get right"),
        Column("source_pair_ids", "VARCHAR[]", "the labeled pairs shown to the writer, the current pair first"),
        Column("attempt", "INTEGER", "1 for the first try; a rejected rubric is regenerated as attempt + 1"),
        Column("items", f"{RUBRIC_ITEM}[]", "the rubric's items, typed hard_rule or principle"),
        Column("text", "VARCHAR", "the rubric as the rubric-conditioned judge reads it"),
        Column("generator", "VARCHAR", "endpoint identity and model that wrote it"),
        Column("template_hash", "VARCHAR", "hash of the generation template"),
        Column("request_hash", "VARCHAR", "llm_requests row of the generation"),
        Column("judge", "VARCHAR", "endpoint identity and model of the rubric-conditioned judge"),
        Column("judge_template_hash", "VARCHAR", "judgments.template_hash of its checks (the judge template bound to this rubric)"),
        Column("status", "VARCHAR", "accepted or rejected (vocab RubricStatus)"),
        Column("reason", "VARCHAR", "why it was rejected (vocab RubricReason); NULL when accepted"),
        Column("accuracy", "DOUBLE", "share of the checked pairs whose label the rubric-conditioned judge reproduced in both orders"),
        Column("pairs_checked", "INTEGER", "pairs of the prompt it was checked on"),
        Column("current_correct", "BOOLEAN", "the judge reproduced the current pair's label in both orders"),
        Column("final", "BOOLEAN", "the last attempt for its pair in this run: its status is the pair's outcome"),
        Column("run_id", "VARCHAR", "run that wrote it"),
        Column("created_at", "TIMESTAMPTZ", "when it was written"),
    ),
)

RUBRIC_CHECKS = Table(
    name="rubric_checks",
    version=1,
    key=("rubric_id", "pair_id"),
    doc="The consistency filter's evidence: per rubric and checked pair, the rubric-conditioned judge's verdict "
        "in each order and whether it reproduces the label.",
    columns=(
        Column("rubric_id", "VARCHAR", "the rubric"),
        Column("pair_id", "VARCHAR", "the pair checked"),
        Column("current", "BOOLEAN", "true for the rubric's current pair"),
        Column("verdict_chosen_as_a", "VARCHAR", "verdict with the stored chosen response shown as A (chosen, rejected, tie; NULL: none)"),
        Column("verdict_chosen_as_b", "VARCHAR", "verdict with it shown as B"),
        Column("verdict", "VARCHAR", "the verdict when both orders agree, else NULL"),
        Column("correct", "BOOLEAN", "both orders say chosen: the rubric reproduces the label"),
        Column("run_id", "VARCHAR", "run that wrote it"),
        Column("created_at", "TIMESTAMPTZ", "when it was written"),
    ),
)

PRINCIPLES = Table(
    name="principles",
    version=1,
    key=("principle_id",),
    doc="Binary principles (RLBFF) read out of a pair's feedback text: a yes/no question, whether each response "
        "satisfies it, and the span of the text that says so. A principle whose span is not in the text is dropped.",
    columns=(
        Column("principle_id", "VARCHAR", "hash of the pair, feedback source, principle and generator"),
        Column("pair_id", "VARCHAR", "the pair the feedback is about"),
        Column("feedback_source", "VARCHAR", "where the text came from: justification, or annotation:<annotator>"),
        Column("principle", "VARCHAR", "the principle, answerable yes or no (e.g. 'Does the response cite a source?')"),
        Column("chosen_satisfies", "BOOLEAN", "the stored chosen response satisfies it"),
        Column("rejected_satisfies", "BOOLEAN", "the stored rejected response satisfies it"),
        Column("evidence", "VARCHAR", "the span of the feedback text the answer rests on, verbatim"),
        Column("status", "VARCHAR", "kept or dropped (vocab PrincipleStatus)"),
        Column("reason", "VARCHAR", "why it was dropped (vocab PrincipleReason); NULL when kept"),
        Column("generator", "VARCHAR", "endpoint identity and model that extracted it"),
        Column("template_hash", "VARCHAR", "hash of the extraction template"),
        Column("request_hash", "VARCHAR", "llm_requests row of the extraction"),
        Column("run_id", "VARCHAR", "run that wrote it"),
        Column("created_at", "TIMESTAMPTZ", "when it was written"),
    ),
)

TABLES: tuple[Table, ...] = (RUBRICS, RUBRIC_CHECKS, PRINCIPLES)

RUBRIC_TEMPLATE = "rubric"
"""``judgments.template`` of the rubric-conditioned judge: its checks, and ``curate judge --rubrics``."""

RUBRIC_SUMMARY = "rubric_summary"
"""View (``warehouse/views``): per writer, status and reason, the rubric attempts, the pairs decided, mean accuracy and tries."""
PRINCIPLES_SUMMARY = "principles_summary"
"""View: per extractor, kind of feedback and status/reason, the principles extracted and the pairs they came from."""
