"""A scripted OpenAI-compatible chat server on loopback, for fault-injection tests.

Real HTTP, so the client under test runs its real network path. Each request is
keyed by the content of its last message; a per-key script says what the next
requests with that key get, so the outcome does not depend on arrival order:

    ok           200 with a chat completion (content, usage, logprobs when asked)
    429[:S]      rate limited, with ``Retry-After: S`` when S is given
    500, 503     server errors
    400, 401     client errors; the body echoes the Authorization header, as some servers do
    garbage      200 with a body that is not JSON
    nochoices    200 with JSON that has no choices
    slow:S       200 like ok, after S seconds
    stall        no answer: the connection stays silent for ``stall_s``, then closes

Requests with no script left get ``default``. ``answer_limit`` makes every request
stall once that many ``ok`` answers went out (a server that hangs mid-run). The
server records what it received and what it answered, per key, with timestamps,
and the most requests it ever had in flight at once.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from loopback import Exchange, LoopbackServer

JUDGE_ANSWER = '{"winner": "A", "strength": 0.8, "rationale": "A answers the question."}'


@dataclass(frozen=True)
class Received:
    key: str
    action: str
    at: float  # time.monotonic() on arrival
    authorization: str | None
    body: dict


class FaultServer(LoopbackServer):
    def __init__(self, *, default: str = "ok", content: str = JUDGE_ANSWER, stall_s: float = 30.0) -> None:
        super().__init__()
        self.default, self.content, self.stall_s = default, content, stall_s
        self.scripts: dict[str, list[str]] = defaultdict(list)
        self.answer_limit: int | None = None
        self.received: list[Received] = []
        self.answered: Counter = Counter()
        self.admitted = 0  # answers let through so far (for answer_limit)
        self.in_flight = 0
        self.max_in_flight = 0

    def script(self, key: str, *actions: str) -> None:
        """The next requests whose last message is ``key`` get ``actions``, in order."""
        with self.lock:
            self.scripts[key].extend(actions)

    def received_for(self, key: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.key == key]

    @property
    def total_answered(self) -> int:
        with self.lock:
            return sum(self.answered.values())

    def _next_action(self, key: str, body: dict, authorization: str | None) -> str:
        with self.lock:
            if self.answer_limit is not None and self.admitted >= self.answer_limit:
                action = "stall"
            elif self.scripts.get(key):
                action = self.scripts[key].pop(0)
            else:
                action = self.default
            if action.partition(":")[0] in ("ok", "slow"):
                self.admitted += 1  # counted when admitted, so concurrent requests cannot all slip under the limit
            self.received.append(Received(key, action, time.monotonic(), authorization, body))
            return action

    def on_get(self, exchange: Exchange) -> None:
        if exchange.path.rstrip("/").endswith("/models"):
            exchange.reply(200, {"object": "list", "data": [{"id": "fault-model"}]})
        else:
            super().on_get(exchange)

    def on_post(self, exchange: Exchange, body: dict) -> None:
        messages = body.get("messages") or [{}]
        key = str(messages[-1].get("content"))
        authorization = exchange.headers.get("Authorization")
        action = self._next_action(key, body, authorization)
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._act(exchange, action, key, body, authorization)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _act(self, exchange: Exchange, action: str, key: str, body: dict, authorization: str | None) -> None:
        kind, _, arg = action.partition(":")
        if kind == "slow":
            self.stopping.wait(float(arg))
            kind = "ok"
        if kind == "ok":
            if exchange.reply(200, self.completion(body)):
                with self.lock:
                    self.answered[key] += 1
        elif kind == "stall":
            self.stopping.wait(self.stall_s)
            exchange.close_connection = True
        elif kind == "garbage":
            exchange.reply(200, b"<html>upstream proxy error</html>")
        elif kind == "nochoices":
            exchange.reply(200, {"id": "x", "choices": []})
        elif kind == "429":
            headers = {"Retry-After": arg} if arg else {}
            exchange.reply(429, {"error": {"message": "rate limited", "type": "rate_limit"}}, headers)
        elif kind in ("400", "401"):
            exchange.reply(int(kind), {"error": {"message": f"rejected; you sent {authorization}"}})
        else:
            exchange.reply(int(kind), {"error": {"message": "server error"}})

    def completion(self, body: dict) -> dict:
        messages = body.get("messages") or []
        chars = sum(len(m.get("content") or "") for m in messages)
        content = self.content
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop",
                  "logprobs": None}
        if body.get("logprobs"):
            pieces = [content[i:i + 4] for i in range(0, len(content), 4)]
            choice["logprobs"] = {"content": [
                {"token": p, "logprob": -0.1, "top_logprobs": [{"token": p, "logprob": -0.1},
                                                               {"token": "B", "logprob": -2.5}]} for p in pieces]}
        return {"id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "choices": [choice],
                "usage": {"prompt_tokens": chars // 4 + 4 * len(messages), "completion_tokens": len(content) // 4 + 1,
                          "total_tokens": chars // 4 + 4 * len(messages) + len(content) // 4 + 1}}
