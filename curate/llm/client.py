"""Every LLM call in curate: cached, limited, retried, costed and resumable, in one place.

``LLMClient.complete`` takes chat requests and returns one ``ChatResult`` each,
in input order, and never raises for a single bad request. Around each request:

- **cache**: a request is keyed by ``request_hash`` (endpoint identity, model,
  template hash, messages, sampling parameters). Answers already in
  ``llm_requests`` or in a journal on disk are served without a network call;
  identical requests in one run are sent once. Only ``ok`` answers are served.
- **cost**: from the per-model price table; a loopback endpoint is free (0), and
  a remote model missing from the table costs ``None`` (unknown, NULL in
  ``llm_requests``), never 0. ``max_cost_usd`` needs a price.
- **limits**: a fixed pool of ``concurrency`` workers; requests- and
  tokens-per-minute buckets; ``max_requests`` and ``max_cost_usd`` stop *new*
  requests (the rest come back ``skipped``, and ``usage.stopped_by`` says why).
- **retries**: 429, 408, 5xx, timeouts, connection errors and unreadable bodies
  are retried with exponential backoff and jitter (Retry-After wins); other
  4xx fail at once. The ``openai`` client's own retries are off so each retry
  is counted here.
- **resume**: each outcome goes to the run's journal as it arrives (see
  ``curate.llm.store``); a killed run, started again, re-sends nothing it had
  an answer for.

The hot path is small on purpose (a vLLM endpoint answers thousands of
requests a second): one sha256 per request, one ``write`` per outcome, no
per-request database work, and the response body is read with orjson rather
than parsed into pydantic models. The API key is read from the environment
variable the config names and handed only to the ``openai`` client object, and
so are credentials or a query string in the base URL: what is stored or
reported is ``public_url`` (scheme, host, port, path). The
``openai`` SDK is imported only when requests are actually sent, so importing
curate, or a run the cache answers whole, never loads it.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import ModuleType
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from curate.errors import ConfigError
from curate.llm.limits import RETRYABLE_STATUS, Price, TokenBucket, backoff_delay, price_for, retry_after_seconds
from curate.llm.store import Answer, Journal, journal_path, logprobs_of, lookup, recover_orphans
from curate.llm.types import (ChatRequest, ChatResult, EndpointConfig, LimitsConfig, Usage, RequestHasher,
                              endpoint_identity, is_loopback, public_url, request_hash)
from curate.warehouse import Warehouse
from schemas.vocab import RequestStatus

NO_KEY = "sk-no-key"  # what the openai client gets when the endpoint needs no key
_MAX_ERROR_CHARS = 500
_DEFAULT_COMPLETION_TOKENS = 256  # completion estimate before any answer is seen and without max_tokens

__all__ = ["ChatRequest", "ChatResult", "EndpointConfig", "LLMClient", "LimitsConfig", "Price", "Usage",
           "endpoint_identity", "request_hash"]


class LLMClient:
    """Sends chat requests to one endpoint under one set of limits. Use it as a context manager:
    entering loads journals left by killed runs; leaving loads this run's outcomes into
    ``llm_requests`` (one snapshot)."""

    def __init__(self, wh: Warehouse, endpoint: EndpointConfig, limits: LimitsConfig, *, run_id: str) -> None:
        self.wh, self.endpoint, self.limits, self.run_id = wh, endpoint, limits, run_id
        self._api_key = _read_key(endpoint.api_key_env)
        self._url = public_url(endpoint.base_url)  # what is stored: no credentials, no query
        self._secrets = _url_secrets(endpoint.base_url)  # blanked out of error text, like the key
        self._loopback = is_loopback(endpoint.base_url)
        price = price_for(endpoint.model, limits.prices)
        if price is None and self._loopback:
            price = Price(input=0, output=0)  # local compute is not billed
        if price is None and limits.max_cost_usd is not None:
            raise ConfigError("max_cost_usd is set but the model has no price: add it under limits.prices",
                              model=endpoint.model)
        self._price: Price | None = price  # None: a remote model missing from the price table, cost unknown
        self._hasher = RequestHasher(endpoint)
        self._tally = Usage()
        self._answers: dict[str, Answer] = {}  # this client's ok outcomes, served to its later calls
        self._failures: Counter = Counter()
        self._journal: Journal | None = None
        self._reserved_usd = 0.0
        self._completion_seen = [0, 0]  # tokens, answers: the running completion estimate

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> LLMClient:
        recover_orphans(self.wh)
        self._journal = Journal(journal_path(self.wh, self.run_id))
        return self

    def __exit__(self, *exc_info) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.load_and_close(self.wh)

    @property
    def usage(self) -> Usage:
        """Counts so far (a copy)."""
        return replace(self._tally)

    # --- the engine ----------------------------------------------------------------------------

    def complete(self, requests: Iterable[ChatRequest], *,
                 on_result: Callable[[ChatResult], None] | None = None) -> list[ChatResult]:
        """Results in input order; ``on_result`` is called as each one is known (cache hits first).

        Inside a running event loop (a notebook, an async framework) the engine runs on a helper
        thread with its own loop; ``await acomplete(...)`` avoids that thread."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.acomplete(requests, on_result=on_result))
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self.acomplete(requests, on_result=on_result)).result()

    async def acomplete(self, requests: Iterable[ChatRequest], *,
                        on_result: Callable[[ChatResult], None] | None = None) -> list[ChatResult]:
        if self._journal is None:
            raise RuntimeError("use LLMClient as a context manager: `with LLMClient(...) as client:`")
        requests = list(requests)
        keyed = [self._hasher(r) for r in requests]
        results: list[ChatResult | None] = [None] * len(requests)
        leaders: dict[str, int] = {}
        followers: dict[str, list[int]] = {}
        for i, (digest, _) in enumerate(keyed):
            if digest in leaders:
                followers.setdefault(digest, []).append(i)
            else:
                leaders[digest] = i
        self._tally.requested += len(requests)
        self._tally.duplicates += len(requests) - len(leaders)

        def deliver(i: int, result: ChatResult) -> None:
            results[i] = result
            if on_result:
                on_result(result)
            for j in followers.get(result.request_hash, ()):
                results[j] = replace(result, request=requests[j])
                if on_result:
                    on_result(results[j])

        unknown = [d for d in leaders if d not in self._answers]
        found, failures = lookup(self.wh, unknown, skip=self._journal.path) if unknown else ({}, Counter())
        self._failures.update(failures)
        todo = []
        for digest, i in leaders.items():
            answer = self._answers.get(digest) or found.get(digest)
            if answer is None:
                todo.append(i)
                continue
            self._tally.cache_hits += 1
            deliver(i, ChatResult(requests[i], digest, RequestStatus.OK, answer.text, answer.logprobs, answer.prompt_tokens,
                                  answer.completion_tokens, answer.cost_usd, cached=True))
        if todo:
            await self._send_all(todo, requests, keyed, deliver)
        return results  # type: ignore[return-value]

    async def _send_all(self, todo: list[int], requests, keyed, deliver) -> None:
        import httpx  # deferred with openai: only a run that sends requests pays for the SDK
        import openai

        limits = self.limits
        rpm = TokenBucket(limits.requests_per_minute) if limits.requests_per_minute else None
        tpm = TokenBucket(limits.tokens_per_minute) if limits.tokens_per_minute else None
        pause = [0.0]  # monotonic time before which no worker starts an attempt (a 429 with Retry-After)
        pending = iter(todo)
        base_url, query = _sdk_target(self.endpoint.base_url)
        async with openai.AsyncOpenAI(base_url=base_url, default_query=query, api_key=self._api_key or NO_KEY,
                                      max_retries=0, timeout=limits.timeout_s) as client:
            post = functools.partial(client.post, "/chat/completions", cast_to=httpx.Response)

            async def worker() -> None:
                for i in pending:
                    digest, payload = keyed[i]
                    deliver(i, await self._one(post, openai, requests[i], digest, payload, rpm, tpm, pause))

            await asyncio.gather(*(worker() for _ in range(min(limits.concurrency, len(todo)))))

    async def _one(self, post: Callable[..., Awaitable], sdk: ModuleType, request: ChatRequest, digest: str,
                   payload: bytes, rpm: TokenBucket | None, tpm: TokenBucket | None, pause: list[float]) -> ChatResult:
        """Send one request through ``post`` (the SDK client's POST to ``/chat/completions``), retrying what
        may pass on a second try; ``sdk`` is the ``openai`` module, whose exceptions say which failures those are."""
        est_prompt, est_completion = self._estimate(request)
        est_cost = self._price.cost(est_prompt, est_completion) if self._price else 0.0  # a budget needs a price
        reason = self._stop_reason(est_cost)
        if reason:
            self._tally.skipped += 1
            return ChatResult(request, digest, RequestStatus.SKIPPED, error=f"not sent: {reason} reached")
        self._tally.requests_sent += 1
        if self._price is None:  # what this run spent is unknown from here on
            self._tally.unpriced += 1
            self._tally.cost_usd = None
        self._reserved_usd += est_cost
        if tpm:
            await tpm.take(est_prompt + est_completion)
        body = orjson.dumps({**request.params, "model": self.endpoint.model, "messages": request.messages})
        retries, status, error, response = 0, None, None, None
        while True:
            if rpm:
                await rpm.take(1)
            wait = pause[0] - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            started = time.perf_counter()
            retry_after = None
            try:
                response = await post(content=body)
                status = response.status_code
                content = response.content
                data = orjson.loads(content)
                choice = data["choices"][0]
                text = choice["message"]["content"]
                break
            except sdk.APIStatusError as exc:
                status, error = exc.status_code, f"HTTP {exc.status_code}: {exc.message}"
                retryable = status in RETRYABLE_STATUS or status >= 500
                retry_after = retry_after_seconds(exc.response.headers)
                if status == 429 and retry_after:
                    pause[0] = max(pause[0], time.monotonic() + min(retry_after, self.limits.backoff_max_s))
            except sdk.APITimeoutError:
                status, error, retryable = None, f"timed out after {self.limits.timeout_s}s", True
            except sdk.APIConnectionError as exc:
                status, error, retryable = None, f"connection error: {exc.__cause__ or exc}", True
            except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
                error, retryable = f"response is not a chat completion ({type(exc).__name__}: {exc})", True
            except sdk.OpenAIError as exc:  # anything else the SDK raises: recorded, not retried
                status, error, retryable = None, f"{type(exc).__name__}: {exc}", False
            if not retryable or retries >= self.limits.max_retries:
                return self._failed(request, digest, payload, status, error, retries, est_cost)
            retries += 1
            self._tally.retries += 1
            await asyncio.sleep(backoff_delay(retries, base_s=self.limits.backoff_base_s,
                                              max_s=self.limits.backoff_max_s, retry_after_s=retry_after))
        latency_ms = (time.perf_counter() - started) * 1000
        usage = data.get("usage") or {}
        prompt_tokens, completion_tokens = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        cost = self._cost(prompt_tokens, completion_tokens)
        if tpm:
            tpm.adjust(prompt_tokens + completion_tokens - est_prompt - est_completion)
        self._reserved_usd -= est_cost
        self._completion_seen[0] += completion_tokens
        self._completion_seen[1] += 1
        tally = self._tally
        tally.prompt_tokens += prompt_tokens
        tally.completion_tokens += completion_tokens
        if cost is not None and tally.cost_usd is not None:
            tally.cost_usd += cost
        logprobs = logprobs_of(data)
        # a body with raw newlines would break the journal's one-line records: re-encode it then
        response_json = orjson.Fragment(content) if b"\n" not in content else data
        self._journal.write(self._record(digest, request, payload, RequestStatus.OK, text=text, response=response_json,
                                         http_status=status, retries=retries, prompt_tokens=prompt_tokens,
                                         completion_tokens=completion_tokens, cost_usd=cost, latency_ms=latency_ms))
        self._answers[digest] = Answer(text, logprobs, prompt_tokens, completion_tokens, cost)
        return ChatResult(request, digest, RequestStatus.OK, text, logprobs, prompt_tokens, completion_tokens, cost)

    # --- helpers -------------------------------------------------------------------------------

    def _failed(self, request, digest, payload, status, error, retries, est_cost) -> ChatResult:
        self._reserved_usd -= est_cost
        error = self._scrub(error)
        cost = self._cost(0, 0)  # no tokens reported: 0 by the price table, unknown without one
        self._journal.write(self._record(digest, request, payload, RequestStatus.FAILED, error=error, http_status=status,
                                         retries=retries, cost_usd=cost))
        self._failures[digest] += 1
        self._tally.failed += 1
        return ChatResult(request, digest, RequestStatus.FAILED, cost_usd=cost, error=error)

    def _record(self, digest: str, request: ChatRequest, payload: bytes, status: RequestStatus, **values) -> dict:
        return {"request_hash": digest, "endpoint": self._url, "model": self.endpoint.model,
                "template_hash": request.template_hash, "request": orjson.Fragment(payload), "status": status,
                "attempt": self._failures[digest] + 1, "run_id": self.run_id,
                "created_us": time.time_ns() // 1000, **values}

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD from the price table; None (unknown) for a remote model missing from it."""
        return self._price.cost(prompt_tokens, completion_tokens) if self._price else None

    def _scrub(self, text: str | None) -> str | None:
        """Error text, shortened, with the key and the base URL's credentials and query blanked out (some
        servers echo a bad key back; transport errors may quote the URL)."""
        if text is None:
            return None
        for secret in filter(None, (self._api_key, *self._secrets)):
            text = text.replace(secret, "***")
        return text[:_MAX_ERROR_CHARS]

    def _estimate(self, request: ChatRequest) -> tuple[int, int]:
        """Tokens before sending: about 4 characters a token for the prompt; for the completion the
        mean seen so far, else ``max_tokens``, else a default."""
        chars = sum(len(m.get("content") or "") for m in request.messages if isinstance(m.get("content"), str))
        tokens, answers = self._completion_seen
        params = request.params
        completion = (round(tokens / answers) if answers
                      else params.get("max_tokens") or params.get("max_completion_tokens") or _DEFAULT_COMPLETION_TOKENS)
        return chars // 4 + 4 * len(request.messages), completion

    def _stop_reason(self, est_cost: float) -> str | None:
        """Why no new request may start: the request cap, or the budget (spent + in flight + this one)."""
        tally, limits = self._tally, self.limits
        if tally.stopped_by is None:
            if limits.max_requests is not None and tally.requests_sent >= limits.max_requests:
                tally.stopped_by = "max_requests"
            elif limits.max_cost_usd is not None and tally.cost_usd + self._reserved_usd + est_cost > limits.max_cost_usd:
                tally.stopped_by = "max_cost"
        return tally.stopped_by


def _url_secrets(base_url: str) -> list[str]:
    """What of a base URL must never be stored: its password (as written and decoded), its query string, and
    the Basic-auth token its credentials become (a server may echo the Authorization header back)."""
    parts = urlsplit(base_url.strip())
    secrets = [parts.query]
    if parts.username or parts.password:
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        secrets += [parts.password or "", password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def _sdk_target(base_url: str) -> tuple[str, dict[str, str] | None]:
    """The base URL for the ``openai`` client and its query string as ``default_query``: the SDK appends paths
    to the raw base URL, so a query left in it would swallow ``/chat/completions``."""
    parts = urlsplit(base_url.strip())
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) or None
    return parts._replace(query="", fragment="").geturl(), query


def _read_key(variable: str | None) -> str | None:
    """The API key from the named environment variable; its value never leaves the client object."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"the API key variable is not set: export {variable}=... or drop api_key_env",
                          api_key_env=variable)
    return value
