"""Prices, rate buckets and the retry policy behind ``curate.llm``.

Kept apart from the client so each rule can be read (and tested) on its own:
what a request costs, how fast requests may start, and how long to wait
before trying a failed one again.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from curate import assets

RETRYABLE_STATUS = frozenset({408, 429})  # plus every 5xx
"""HTTP statuses worth retrying besides 5xx: request timeout and rate limit. Other 4xx fail at once."""


class Price(BaseModel):
    """What a model charges, in USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="USD per 1M input (prompt) tokens")
    output: float = Field(ge=0, description="USD per 1M output (completion) tokens")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


@lru_cache(maxsize=1)
def packaged_prices() -> dict[str, Price]:
    """The price table shipped with curate (``curate/assets/prices.yaml``), keys lower-cased."""
    table = assets.load_yaml("assets/prices.yaml") or {}
    return {str(k).lower(): Price.model_validate(v) for k, v in table.items()}


def price_for(model: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price of ``model``: overrides first, then the packaged table; None when unpriced.

    Matching is case-insensitive: the exact name, then the name without a provider prefix
    (``openai/gpt-4o`` -> ``gpt-4o``), then the longest entry the name starts with followed
    by ``-`` (a dated snapshot such as ``gpt-4o-mini-2024-07-18``).
    """
    table = {**packaged_prices(), **{k.lower(): v for k, v in (overrides or {}).items()}}
    name = model.lower()
    for candidate in (name, name.rsplit("/", 1)[-1]):
        if candidate in table:
            return table[candidate]
    bare = name.rsplit("/", 1)[-1]
    prefixes = [key for key in table if bare.startswith(key + "-") or bare.startswith(key + ".")]
    return table[max(prefixes, key=len)] if prefixes else None


class TokenBucket:
    """Starts at most ``per_minute`` units a minute, smoothly: the bucket holds one second's worth.

    A small burst keeps a rate limit honest over any window, not only per minute. A take larger
    than the bucket waits for a full bucket and drives the level below zero, so a big request is
    never starved and the long-run rate still holds. ``adjust`` corrects an estimate afterwards
    (tokens per minute are estimated from text length before the request, known after it).
    """

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock: asyncio.Lock | None = None

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self, amount: float) -> None:
        if self._lock is None:  # created inside the running loop
            self._lock = asyncio.Lock()
        async with self._lock:  # FIFO: waiters are served in arrival order
            need = min(amount, self.capacity)
            self._refill()
            while self.level < need:
                await asyncio.sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def adjust(self, extra: float) -> None:
        """Charge ``extra`` more units (negative: give some back) for a request already started."""
        self._refill()
        self.level = min(self.capacity, self.level - extra)


def backoff_delay(retry: int, *, base_s: float, max_s: float, retry_after_s: float | None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based).

    The server's Retry-After wins when it sent one (capped at ``max_s``); otherwise exponential
    backoff with full jitter, so that many workers hit by the same 429 do not return in step.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), max_s)
    return random.uniform(0, min(max_s, base_s * 2 ** (retry - 1)))


def retry_after_seconds(headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if present and sane."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
