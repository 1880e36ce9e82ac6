-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.

-- judgments v1 -> v2: add settings_hash, settings
ALTER TABLE judgments ADD COLUMN IF NOT EXISTS settings_hash VARCHAR;
ALTER TABLE judgments ADD COLUMN IF NOT EXISTS settings JSON;
