"""The rubrics and principles configs: who writes, who checks, how many pairs and tries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate.judge.config import GeneratorConfig, JudgeConfig

EMBEDDED_NOTICE = (
    "No --base-url given: writing and checking with the embedded llama.cpp server and SmolLM2-135M-Instruct. "
    "That model is a PLUMBING DEFAULT: it exercises the whole stage, but its rubrics and principles are near-random "
    "and its checks accept or reject them by chance, so do not use them. Point curate at a real model with "
    "`--base-url http://host:8000/v1 --model NAME --api-key-env OPENAI_API_KEY`."
)

FeedbackSource = Literal["justification", "annotation"]
"""Where feedback text comes from: ``pairs.justification``, or an annotator's reason (``annotations_latest.reason``)."""


class RubricsConfig(BaseModel):
    """Contrastive rubric generation with a label-consistency filter (OpenRubrics)."""

    model_config = ConfigDict(extra="forbid")

    generator: GeneratorConfig = Field(default_factory=GeneratorConfig, description="the LLM that writes the rubrics")
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description=(
        "the rubric-conditioned judge of the checks; its defaults are `curate judge`'s, so `curate judge` with "
        "rubrics on finds the checked pairs already judged"))
    limit: int | None = Field(None, ge=1, description="write rubrics for the first N original, non-tie pairs in pair_id order")
    max_tries: int = Field(3, ge=1, description="attempts per pair in a run: a rejected rubric is regenerated until then")
    min_accuracy: float = Field(0.5, ge=0, le=1, description="share of the prompt's checked labels a rubric must reproduce")
    max_pairs: int = Field(4, ge=1, description="labeled pairs of the prompt shown to the writer and checked, the current pair first")
    regenerate: bool = Field(False, description="write new rubrics for pairs already decided (attempts numbered on)")

    @model_validator(mode="after")
    def _judge_reads_the_written_rubric(self) -> RubricsConfig:
        if self.judge.rubric or self.judge.rubrics:
            raise ValueError("judge.rubric and judge.rubrics do not apply here: the checks read the rubric just written")
        return self


class PrinciplesConfig(BaseModel):
    """Binary principles (RLBFF) read out of the feedback text pairs already have."""

    model_config = ConfigDict(extra="forbid")

    generator: GeneratorConfig = Field(default_factory=lambda: GeneratorConfig(temperature=0), description=(
        "the LLM that extracts them; temperature 0 by default, since extraction should be faithful, not creative"))
    limit: int | None = Field(None, ge=1, description="read the first N feedback texts in (pair_id, source) order")
    sources: list[FeedbackSource] = Field(["justification", "annotation"], min_length=1,
                                          description="feedback to read: justification, annotation (annotators' reasons)")
