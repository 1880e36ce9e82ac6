"""The judge's config: what the stage, the pairwise protocol and the probe share."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from curate.errors import ConfigError, CurateError
from curate.judge import prompt as judge_prompt
from curate.llm.types import LimitsConfig, public_url

EMBEDDED_NOTICE = (
    "No --base-url given: judging with the embedded llama.cpp server and SmolLM2-135M-Instruct. "
    "That model is a PLUMBING DEFAULT: it exercises the whole pipeline but is near-random as a judge, "
    "so do not trust its verdicts. Point curate at a real model with "
    "`--base-url http://host:8000/v1 --model NAME --api-key-env OPENAI_API_KEY`."
)


class LimitReached(CurateError):
    """A limit (request cap, budget) stopped the run before all work was sent; what was judged is kept."""

    exit_code = 6


class LLMSection(BaseModel):
    """Which OpenAI-compatible endpoint answers, how answers are shaped, and the run's limits: what every LLM
    user in curate names the same way (``curate.judge.endpoint``). The base URL's credentials and query string
    are used, never stored: the JSON dump (``runs.config``, the config hash) never holds them."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1; none: the embedded llama.cpp server. "
                                 "Credentials or a query string in it are used, never stored")
    model: str | None = Field(None, description="model name at base_url (required with base_url)")
    api_key_env: str | None = Field(None, description="NAME of the environment variable holding the API key (the key is never stored)")
    output_mode: Literal["auto", "json_schema", "json_object_schema", "none"] = Field(
        "auto", description="structured output: json_schema (OpenAI), json_object_schema (llama.cpp), none (prompt only); "
        "auto: json_object_schema on loopback endpoints (embedded, llama.cpp, vLLM, Ollama), json_schema elsewhere")
    limits: LimitsConfig = Field(default_factory=LimitsConfig, description="concurrency, rate limits, request and cost caps, retries, prices")

    @field_serializer("base_url", when_used="json")
    def _public_base_url(self, base_url: str | None) -> str | None:
        """What ``runs.config`` and the config hash see: no credentials, no query string."""
        return public_url(base_url) if base_url else None

    @model_validator(mode="after")
    def _model_named(self) -> LLMSection:
        if self.base_url and not self.model:
            raise ValueError("model is required with base_url")
        return self


class GeneratorConfig(LLMSection):
    """An LLM that writes (rubrics, principles, rewrites): its endpoint and sampling. A regeneration is sent with
    the next seed, so at a temperature above 0 it is a new draw, not the cached answer."""

    temperature: float = Field(0.7, ge=0, description="sampling temperature")
    seed: int = Field(0, description="seed of the first attempt; attempt i is sent with seed + i - 1")
    max_tokens: int = Field(384, ge=16, description="completion token cap per request")
    max_chars: int = Field(4000, ge=100, description="each prompt turn and response shown is cut to this many characters")


class JudgeConfig(LLMSection):
    """How to judge: endpoint, prompt, sampling, protocol and limits. Stored with the run in ``runs.config``,
    with the base URL's credentials and query string stripped (the JSON dump never holds them)."""

    template: str = Field("pairwise", description="packaged prompt template name, or a template file path")
    attribute: str = Field("overall", description="attribute judged: overall, helpfulness, harmlessness, honesty")
    rubric: str | None = Field(None, description="path of a rubric or principle text the template includes (part of the template hash)")
    rubrics: bool = Field(False, description="judge each pair with the accepted rubric of its prompt (curate rubrics); "
                          "pairs without one are skipped")
    samples: int = Field(1, ge=1, description="samples per order (self-consistency); more than 1 needs temperature > 0")
    temperature: float = Field(0.0, ge=0, description="sampling temperature")
    seed: int = Field(0, description="base seed; sample i is sent with seed + i")
    max_tokens: int = Field(128, ge=8, description="completion token cap per request (the verdict comes first in the JSON)")
    logprobs: bool = Field(True, description="ask for token logprobs, to record P(verdict)")
    top_logprobs: int = Field(5, ge=1, le=20, description="alternatives per token returned with the logprobs")
    max_parse_retries: int = Field(2, ge=0, description="re-asks with a stricter instruction after an unreadable answer")
    max_chars: int = Field(4000, ge=100, description="each prompt turn and response is cut to this many characters")
    limit: int | None = Field(None, ge=1, description="judge the first N pairs in pair_id order (probe: N real responses, default 20)")
    rejudge: bool = Field(False, description="judge again what this judge version already judged (the LLM cache answers)")
    probe_keys: list[str] | None = Field(None, description="master keys for the probe; default: every packaged key")

    @model_validator(mode="after")
    def _consistent(self) -> JudgeConfig:
        if self.samples > 1 and self.temperature == 0:
            raise ValueError("samples > 1 needs temperature > 0: at temperature 0 every sample is the same answer")
        if self.rubric and self.rubrics:
            raise ValueError("rubric and rubrics exclude each other: one names a rubric file, the other reads each prompt's own")
        return self

    def judge_template(self) -> judge_prompt.JudgeTemplate:
        """The prompt template bound to the attribute and the rubric text."""
        rubric = None
        if self.rubric:
            try:
                rubric = Path(self.rubric).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read rubric {self.rubric}: {exc}", rubric=self.rubric) from exc
        return judge_prompt.load(self.template, attribute=self.attribute, rubric=rubric)
