"""The augment stage's config: which augmentation, on how many parents, written and checked by which LLMs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate.augment import nonanswers, prompts
from curate.embed.config import EmbedConfig
from curate.judge.config import GeneratorConfig, JudgeConfig
from schemas.vocab import CausalAttribute

NeutralMode = Literal["repair", "rules", "llm"]


class AugmentConfig(BaseModel):
    """One augmentation run: its kind and method, the parents it reads, the rewriter and the check judge.
    Stored with the run in ``runs.config`` (endpoint credentials stripped, as for the judge)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["causal", "neutral", "adversarial"] = Field("causal", description="the augmentation to make")
    attributes: list[str] | None = Field(None, description="causal: the attributes to degrade (default all five); "
                                         "neutral: the style aspects of LLM rewrites (length, formatting, tone; default all)")
    method: Literal["llm", "rules"] = Field("llm", description="causal: an LLM rewrite, or the deterministic rules "
                                            "(only completeness has one)")
    neutral_modes: list[NeutralMode] = Field(["repair", "rules", "llm"], min_length=1, description="neutral: re-pair under "
                                             "an unrelated prompt, deterministic style rules, LLM style rewrites")
    sides: list[Literal["chosen", "rejected"]] = Field(["chosen"], min_length=1, description="neutral rewrites: which of "
                                                       "the parent's responses to rewrite")
    limit: int | None = Field(None, ge=1, description="augment the first N parent pairs in pair_id order (default all)")
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig, description="the LLM that writes the rewrites")
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="the LLM that checks candidates in both orders")
    verify: bool = Field(True, description="judge-check LLM-made candidates (off: accepted unchecked)")
    verify_rules: bool = Field(False, description="judge-check rule-made candidates too (rules need no check to be valid)")
    min_similarity: float = Field(0.85, ge=-1, le=1, description="neutral LLM rewrites: least cosine to the original "
                                  "(MiniLM embedding); below it the meaning changed")
    embedding: EmbedConfig = Field(default_factory=EmbedConfig, description="the embedder behind min_similarity")
    keys: list[str] | None = Field(None, description="adversarial: the master keys to use (default every packaged key)")
    languages: list[str] | None = Field(None, description="adversarial: languages of the keys (default: the parent's "
                                        "language and the symbol keys)")
    keys_per_pair: int = Field(1, ge=1, description="adversarial: keys paired with each parent (a seeded choice)")
    seed: int = Field(0, description="seeds every deterministic choice: keys, donors, rule variants")

    @model_validator(mode="after")
    def _known_names(self) -> AugmentConfig:
        if self.attributes is not None:
            known = [a.value for a in CausalAttribute] if self.kind == "causal" else prompts.aspects(prompts.STYLE)
            if self.kind == "adversarial":
                raise ValueError("adversarial takes keys and languages, not attributes")
            unknown = sorted(set(self.attributes) - set(known))
            if unknown:
                raise ValueError(f"unknown {self.kind} attribute(s) {unknown}; known: {known}")
        if self.keys is not None:
            unknown = sorted(set(self.keys) - set(nonanswers.master_keys()))
            if unknown:
                raise ValueError(f"unknown master key(s) {unknown}; known: {nonanswers.master_keys()}")
        return self

    def selected_attributes(self) -> list[str]:
        """The causal attributes or style aspects this run makes candidates for, in vocabulary order."""
        known = [a.value for a in CausalAttribute] if self.kind == "causal" else prompts.aspects(prompts.STYLE)
        return [a for a in known if self.attributes is None or a in self.attributes]

    def uses_llm(self) -> bool:
        """Whether this run may call an LLM: LLM rewrites, or judge checks of rule-made candidates."""
        llm_rewrites = (self.kind == "causal" and self.method == "llm") or (self.kind == "neutral" and "llm" in self.neutral_modes)
        rules = (self.kind == "causal" and self.method == "rules") or (self.kind == "neutral" and "rules" in self.neutral_modes)
        return llm_rewrites or (self.verify_rules and rules)
