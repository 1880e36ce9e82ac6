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

import json
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JUDGE_ANSWER = '{"winner": "A", "strength": 0.8, "rationale": "A answers the question."}'


@dataclass(frozen=True)
class Received:
    key: str
    action: str
    at: float  # time.monotonic() on arrival
    authorization: str | None
    body: dict


class FaultServer:
    def __init__(self, *, default: str = "ok", content: str = JUDGE_ANSWER, stall_s: float = 30.0) -> None:
        self.default, self.content, self.stall_s = default, content, stall_s
        self.scripts: dict[str, list[str]] = defaultdict(list)
        self.answer_limit: int | None = None
        self.received: list[Received] = []
        self.answered: Counter = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, key: str, *actions: str) -> None:
        """The next requests whose last message is ``key`` get ``actions``, in order."""
        with self._lock:
            self.scripts[key].extend(actions)

    def received_for(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.key == key]

    @property
    def total_answered(self) -> int:
        with self._lock:
            return sum(self.answered.values())

    def _next_action(self, key: str, body: dict, authorization: str | None) -> str:
        with self._lock:
            if self.answer_limit is not None and sum(self.answered.values()) >= self.answer_limit:
                action = "stall"
            elif self.scripts.get(key):
                action = self.scripts[key].pop(0)
            else:
                action = self.default
            self.received.append(Received(key, action, time.monotonic(), authorization, body))
            return action

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


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fault-model"}]}).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            messages = body.get("messages") or [{}]
            key = str(messages[-1].get("content"))
            authorization = self.headers.get("Authorization")
            action = server._next_action(key, body, authorization)
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._act(action, key, body, authorization)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _act(self, action: str, key: str, body: dict, authorization: str | None) -> None:
            kind, _, arg = action.partition(":")
            if kind == "slow":
                server._stop.wait(float(arg))
                kind = "ok"
            if kind == "ok":
                if self._send(200, json.dumps(server.completion(body)).encode()):
                    with server._lock:
                        server.answered[key] += 1
            elif kind == "stall":
                server._stop.wait(server.stall_s)
                self.close_connection = True
            elif kind == "garbage":
                self._send(200, b"<html>upstream proxy error</html>")
            elif kind == "nochoices":
                self._send(200, b'{"id": "x", "choices": []}')
            elif kind == "429":
                headers = {"Retry-After": arg} if arg else {}
                self._send(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}', headers)
            elif kind in ("400", "401"):
                message = json.dumps({"error": {"message": f"rejected; you sent {authorization}"}})
                self._send(int(kind), message.encode())
            else:
                self._send(int(kind), b'{"error": {"message": "server error"}}')

        def _send(self, status: int, payload: bytes, headers: dict | None = None) -> bool:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                return True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return False

    return Handler
