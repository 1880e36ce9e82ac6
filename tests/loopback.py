"""The base of the tests' scripted HTTP servers: a threaded server on 127.0.0.1 that replies JSON.

A subclass says what a request gets by overriding ``on_post`` (the parsed JSON
body) and, if it serves any, ``on_get``; both receive the ``Exchange`` (the
request handler) to reply through. The base starts and stops the server as a
context manager, counts the requests it received, and gives a ``stopping``
event that a slow or stalled answer waits on, so ``__exit__`` never hangs.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Exchange(BaseHTTPRequestHandler):
    """One request to a ``LoopbackServer``, and the way to answer it."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.owner._received()
        self.server.owner.on_get(self)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.owner._received()
        self.server.owner.on_post(self, body)

    def reply(self, status: int, payload: dict | bytes, headers: dict[str, str] | None = None) -> bool:
        """Send ``payload`` (a dict as JSON, or raw bytes) with ``status``; False when the client hung up."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer


class LoopbackServer:
    """A threaded HTTP server on a free loopback port; ``with`` starts it and stops it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._requests = 0
        self._httpd = _Server(("127.0.0.1", 0), Exchange)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style API root, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def request_count(self) -> int:
        """Requests received so far (GET and POST)."""
        with self.lock:
            return self._requests

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def on_get(self, exchange: Exchange) -> None:
        exchange.reply(404, {"error": {"message": "not found"}})

    def on_post(self, exchange: Exchange, body: dict) -> None:
        raise NotImplementedError

    def _received(self) -> None:
        with self.lock:
            self._requests += 1
