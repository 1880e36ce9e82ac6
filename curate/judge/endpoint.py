"""Which endpoint answers an LLM section of a config, and the embedded server when none is named.

Every LLM user in curate (the judge, the rubric writer, the rewriters) names its endpoint with the same
fields (``LLMSection``: base_url, model, api_key_env, output_mode, limits). Without a ``base_url`` the
embedded llama.cpp server answers: ``serving`` starts it once for every section that needs it, so a stage
that writes with one section and judges with another runs one server, not two.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from curate.llm import EndpointConfig, LimitsConfig, is_loopback

if TYPE_CHECKING:
    from curate.judge.config import GeneratorConfig, LLMSection


def planned(cfg: LLMSection) -> EndpointConfig:
    """The endpoint as the cache and the stored rows see it, known before any server starts: a loopback
    server's identity does not depend on its port."""
    if cfg.base_url:
        return EndpointConfig(base_url=cfg.base_url, model=cfg.model, api_key_env=cfg.api_key_env)
    from curate.judge import server as judge_server

    return EndpointConfig(base_url="http://127.0.0.1/v1", model=judge_server.model_name(judge_server.default_model_path()))


@contextmanager
def serving(*sections: LLMSection) -> Iterator[list[EndpointConfig]]:
    """One live endpoint per section, in order; the embedded server is started once, for all the sections
    without a ``base_url``, only when there is one, and stopped on exit."""
    if all(s.base_url for s in sections):
        yield [planned(s) for s in sections]
        return
    from curate.judge import server as judge_server

    with judge_server.start() as server:
        embedded = EndpointConfig(base_url=server.base_url, model=server.model)
        yield [planned(s) if s.base_url else embedded for s in sections]


def limits(cfg: LLMSection) -> LimitsConfig:
    """The section's limits; the embedded server gets one request at a time: llama-cpp-python answers them one
    by one, so more in flight would only wait in its queue until they time out."""
    return cfg.limits if cfg.base_url else cfg.limits.model_copy(update={"concurrency": 1})


def output_mode(cfg: LLMSection) -> str:
    """``auto``: llama.cpp-style ``json_object`` + schema on loopback (the embedded server, local llama.cpp,
    vLLM or Ollama, which accept or ignore it), OpenAI-style ``json_schema`` elsewhere."""
    if cfg.output_mode != "auto":
        return cfg.output_mode
    local = not cfg.base_url or is_loopback(cfg.base_url)
    return "json_object_schema" if local else "json_schema"


def generation_params(cfg: GeneratorConfig, name: str, schema: dict, *, attempt: int = 1) -> dict:
    """A writer's request parameters (``GeneratorConfig``): its sampling, JSON matching ``schema``, and the seed of
    ``attempt`` (seed + attempt - 1), so a regeneration is a new request rather than the cached answer."""
    params: dict = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens, "seed": cfg.seed + attempt - 1}
    if (form := response_format(cfg, name, schema)) is not None:
        params["response_format"] = form
    return params


def response_format(cfg: LLMSection, name: str, schema: dict) -> dict | None:
    """The ``response_format`` request parameter asking for JSON matching ``schema``, or None (prompt only)."""
    mode = output_mode(cfg)
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return None
