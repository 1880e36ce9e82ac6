"""A scripted OpenAI-compatible judge on loopback, for exact protocol tests (real HTTP, real client).

``answer(shown)`` gets the texts shown as response A and B (read back from the
rendered prompt's fences) and the request body, and returns the reply text, or
an ``int`` HTTP status to fail with. Replies carry usage and, when asked,
logprobs in which the winner's token has a scripted distribution over A/B/tie.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from loopback import Exchange, LoopbackServer

_FENCE = re.compile(r'<data-(\w+) name="response (A|B)">\n(.*?)\n</data-\1>', re.DOTALL)
WINNER_TOP = {"A": -0.2, "B": -1.8, "tie": -4.0}
"""Logprobs the scripted winner token reports: A, B and tie (P renormalized over them)."""


@dataclass(frozen=True)
class Shown:
    a: str
    b: str
    retry: bool  # the request is a stricter re-ask
    body: dict


def verdict(winner: str, confidence: float = 0.8, rationale: str = "scripted") -> str:
    return json.dumps({"winner": winner, "confidence": confidence, "rationale": rationale})


class ScriptedJudge(LoopbackServer):
    def __init__(self, answer: Callable[[Shown], str | int]) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[dict] = []  # the bodies received, in arrival order

    @property
    def count(self) -> int:
        return self.request_count

    def on_post(self, exchange: Exchange, body: dict) -> None:
        exchange.reply(*self.reply(body))

    def reply(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append(body)
        messages = body["messages"]
        fenced = {m[2]: m[3] for m in _FENCE.finditer(messages[1]["content"])}
        shown = Shown(a=fenced.get("A", ""), b=fenced.get("B", ""), retry=len(messages) > 2, body=body)
        content = self.answer(shown)
        if isinstance(content, int):
            return content, {"error": {"message": f"scripted HTTP {content}"}}
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop", "logprobs": None}
        if body.get("logprobs"):
            choice["logprobs"] = {"content": _logprobs(content)}
        usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        return 200, {"id": "scripted", "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
                     "choices": [choice], "usage": usage}


def _logprobs(content: str) -> list[dict]:
    """Tokens of ``content``; the winner's value is one token whose alternatives are ``WINNER_TOP``."""
    match = re.search(r'"winner":\s*"(A|B|tie)', content)
    if not match:
        return [{"token": content, "logprob": -0.5, "top_logprobs": []}]
    start, end = match.span(1)
    top = [{"token": token, "logprob": lp} for token, lp in WINNER_TOP.items()] + [{"token": "C", "logprob": -3.0}]
    return [
        {"token": content[:start], "logprob": -0.01, "top_logprobs": []},
        {"token": match.group(1), "logprob": WINNER_TOP[match.group(1)], "top_logprobs": top},
        {"token": content[end:], "logprob": -0.3, "top_logprobs": []},
    ]
