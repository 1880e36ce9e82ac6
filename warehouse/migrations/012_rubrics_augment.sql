-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- rubrics v1: One row per generated rubric (each attempt), with its typed items, its generator, the pairs it was written from and what the consistency filter found.
CREATE TABLE IF NOT EXISTS rubrics (
    rubric_id VARCHAR,
    prompt_id VARCHAR,
    pair_id VARCHAR,
    source_pair_ids VARCHAR[],
    attempt INTEGER,
    items STRUCT(type VARCHAR, text VARCHAR)[],
    text VARCHAR,
    generator VARCHAR,
    template_hash VARCHAR,
    request_hash VARCHAR,
    judge VARCHAR,
    judge_template_hash VARCHAR,
    status VARCHAR,
    reason VARCHAR,
    accuracy DOUBLE,
    pairs_checked INTEGER,
    current_correct BOOLEAN,
    final BOOLEAN,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- rubric_checks v1: The consistency filter's evidence: per rubric and checked pair, the rubric-conditioned judge's verdict in each order and whether it reproduces the label.
CREATE TABLE IF NOT EXISTS rubric_checks (
    rubric_id VARCHAR,
    pair_id VARCHAR,
    current BOOLEAN,
    verdict_chosen_as_a VARCHAR,
    verdict_chosen_as_b VARCHAR,
    verdict VARCHAR,
    correct BOOLEAN,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- principles v1: Binary principles (RLBFF) read out of a pair's feedback text: a yes/no question, whether each response satisfies it, and the span of the text that says so. A principle whose span is not in the text is dropped.
CREATE TABLE IF NOT EXISTS principles (
    principle_id VARCHAR,
    pair_id VARCHAR,
    feedback_source VARCHAR,
    principle VARCHAR,
    chosen_satisfies BOOLEAN,
    rejected_satisfies BOOLEAN,
    evidence VARCHAR,
    status VARCHAR,
    reason VARCHAR,
    generator VARCHAR,
    template_hash VARCHAR,
    request_hash VARCHAR,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);

-- augmentations v1: One row per augmentation candidate: its parent, what made it, the checks it went through, and whether it became a pair. Rejected candidates keep their text and the reason.
CREATE TABLE IF NOT EXISTS augmentations (
    augmentation_id VARCHAR,
    pair_id VARCHAR,
    parent_pair_id VARCHAR,
    donor_pair_id VARCHAR,
    kind VARCHAR,
    method VARCHAR,
    attribute VARCHAR,
    side VARCHAR,
    tie BOOLEAN,
    status VARCHAR,
    reason VARCHAR,
    similarity DOUBLE,
    verdict_chosen_as_a VARCHAR,
    verdict_chosen_as_b VARCHAR,
    generator VARCHAR,
    template_hash VARCHAR,
    request_hash VARCHAR,
    judge VARCHAR,
    candidate VARCHAR,
    run_id VARCHAR,
    created_at TIMESTAMPTZ
);
