"""What an LLM request is: endpoint and limit configs, requests, results, usage, and the request hash.

Kept apart from the engine in ``curate.llm`` (which re-exports all of it) so
the vocabulary can be read without the machinery. The hash is the cache key:
two requests with the same hash are the same question to the same model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field

from curate.errors import ConfigError
from curate.llm.limits import Price
from schemas.vocab import RequestStatus

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


class EndpointConfig(BaseModel):
    """Which OpenAI-compatible endpoint and model answer. Holds the key's variable name, never the key."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    model: str = Field(description="model name sent with each request")
    api_key_env: str | None = Field(None, description="name of the environment variable holding the API key")

    def identity(self) -> str:
        """Endpoint identity and model, e.g. ``localhost/v1/SmolLM2-135M-Instruct``: no scheme, no key. What
        a judge is called in ``judgments.judge``; known from the config alone, before any client or server."""
        return f"{endpoint_identity(self.base_url)}/{self.model}"


class LimitsConfig(BaseModel):
    """How hard and how long a run may call the endpoint."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(16, ge=1, description="requests in flight at once")
    requests_per_minute: float | None = Field(None, gt=0, description="request start rate limit (retries count)")
    tokens_per_minute: float | None = Field(None, gt=0, description="token rate limit: estimated before, corrected after")
    max_requests: int | None = Field(None, ge=0, description="cap on new (uncached) requests for this client")
    max_cost_usd: float | None = Field(None, ge=0, description="budget in USD for this client, from the price table")
    max_retries: int = Field(6, ge=0, description="transport retries per request: 429, 408, 5xx, timeouts, bad bodies")
    timeout_s: float = Field(120, gt=0, description="seconds one HTTP attempt may take")
    backoff_base_s: float = Field(1.0, gt=0, description="first backoff ceiling; doubles per retry, full jitter")
    backoff_max_s: float = Field(60, gt=0, description="longest wait between retries, Retry-After included")
    prices: dict[str, Price] = Field(default_factory=dict, description="per-model overrides of curate/assets/prices.yaml")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion to make. ``tag`` is the caller's handle: returned, never hashed."""

    messages: list[dict]
    params: dict = field(default_factory=dict)
    template_hash: str = ""
    tag: Any = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The outcome of one request: ``ok``, ``failed`` (with ``error``) or ``skipped`` (a limit stopped it)."""

    request: ChatRequest
    request_hash: str
    status: RequestStatus
    text: str | None = None
    logprobs: list[dict] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0  # None: unknown (a remote model missing from the price table)
    cached: bool = False
    error: str | None = None


@dataclass
class Usage:
    """Counts for a client's lifetime. requested == requests_sent + cache_hits + duplicates + skipped;
    ``failed`` is part of ``requests_sent``; ``duplicates`` are repeats of a request earlier in the same call.
    ``stopped_by``: None, "max_requests" or "max_cost". ``cost_usd`` is None (unknown) once a request to a remote
    model missing from the price table was sent; ``unpriced`` counts those requests."""

    requested: int = 0
    requests_sent: int = 0
    cache_hits: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    unpriced: int = 0
    stopped_by: str | None = None


def endpoint_identity(base_url: str) -> str:
    """Host, port and path of an endpoint, without scheme, credentials or query.

    A loopback endpoint is ``localhost`` whatever its port: local servers take a free port
    at each start, and the cache must survive that. The model name says what answers.
    """
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if is_loopback(base_url):
        host = "localhost"
    elif parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host + parts.path.rstrip("/")


def public_url(base_url: str) -> str:
    """``base_url`` as it may be stored or logged: scheme, host, port and path, without credentials, query
    string or fragment (``https://user:secret@host/v1?key=abc`` -> ``https://host/v1``)."""
    parts = urlsplit(base_url.strip())
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def is_loopback(base_url: str) -> bool:
    """True for an endpoint on this machine (the embedded server, a local llama.cpp, vLLM or Ollama)."""
    host = (urlsplit(base_url.strip()).hostname or "").lower()
    return host in _LOOPBACK or host.startswith("127.")


def request_hash(endpoint: EndpointConfig, request: ChatRequest) -> str:
    """sha256 of the canonical JSON of endpoint identity, model, template hash, messages and params."""
    return RequestHasher(endpoint)(request)[0]


class RequestHasher:
    """Hashes requests for one endpoint; the canonical payload doubles as the journal's ``request``."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self._prefix = orjson.dumps({"endpoint": endpoint_identity(endpoint.base_url), "model": endpoint.model},
                                    option=orjson.OPT_SORT_KEYS) + b"\n"

    def __call__(self, request: ChatRequest) -> tuple[str, bytes]:
        if request.params.get("stream"):
            raise ConfigError("streaming requests are not supported: drop params['stream']")
        try:
            payload = orjson.dumps({"messages": request.messages, "params": request.params},
                                   option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise ConfigError(f"request messages and params must be plain JSON: {exc}") from exc
        digest = hashlib.sha256(self._prefix + request.template_hash.encode() + b"\n" + payload).hexdigest()
        return digest, payload
