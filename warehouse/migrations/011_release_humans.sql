-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- release_rows v1 -> v2: add human_verdict, human_votes, human_agreement, judge_verdict, human_against_judge
ALTER TABLE release_rows ADD COLUMN IF NOT EXISTS human_verdict VARCHAR;
ALTER TABLE release_rows ADD COLUMN IF NOT EXISTS human_votes INTEGER;
ALTER TABLE release_rows ADD COLUMN IF NOT EXISTS human_agreement DOUBLE;
ALTER TABLE release_rows ADD COLUMN IF NOT EXISTS judge_verdict VARCHAR;
ALTER TABLE release_rows ADD COLUMN IF NOT EXISTS human_against_judge BOOLEAN;
