"""A scripted OpenAI-compatible judge on loopback, for exact protocol tests (real HTTP, real client).

``answer(shown)`` gets the texts shown as response A and B (read back from the
rendered prompt's fences) and the request body, and returns the reply text, or
an ``int`` HTTP status to fail with. Replies carry usage and, when asked,
logprobs in which the winner's token has a scripted distribution over A/B/tie.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class ScriptedJudge:
    def __init__(self, answer: Callable[[Shown], str | int]) -> None:
        self.answer = answer
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> ScriptedJudge:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reply(self, body: dict) -> tuple[int, dict]:
        with self._lock:
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


def _handler(server: ScriptedJudge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            status, payload = server.reply(body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
