"""An OpenAI-compatible chat server that answers at once, to expose the client's own overhead.

    python benchmarks/instant_server.py --port 8000 [--workers 2]

Every ``POST .../chat/completions`` gets the same valid completion: a judge
verdict as JSON, usage counts and a small logprobs block. ``GET .../models``
lists one model. It is a raw asyncio HTTP/1.1 keep-alive server (no framework,
no JSON parsing of requests: the body is read and dropped), so a client on the
same machine is slower than it. ``--workers N`` forks N processes sharing the
port (SO_REUSEPORT). ``benchmarks/judge.py`` measures its capacity in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket

MODEL = "instant-judge"
CONTENT = json.dumps({"winner": "A", "confidence": 0.9, "rationale": "Response A answers the question directly."})
_LOGPROBS = {"content": [{"token": t, "logprob": -0.05, "top_logprobs": [{"token": t, "logprob": -0.05},
                                                                          {"token": "B", "logprob": -3.0}]}
                         for t in ('{"', "winner", '":"', "A", '",')]}
COMPLETION = json.dumps({
    "id": "chatcmpl-instant", "object": "chat.completion", "created": 1700000000, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": CONTENT}, "finish_reason": "stop",
                 "logprobs": _LOGPROBS}],
    "usage": {"prompt_tokens": 400, "completion_tokens": 24, "total_tokens": 424},
}).encode()
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]}).encode()


def _response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


_CHAT = _response(COMPLETION)
_MODELS = _response(MODELS)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class _Protocol(asyncio.Protocol):
    """Parses pipelined HTTP/1.1 requests from a buffer; answers each as soon as its body is in."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                    break
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            method, _, rest = head.partition(b" ")
            path = rest.partition(b" ")[0]
            if method == b"POST" and path.endswith(b"/chat/completions"):
                self.transport.write(_CHAT)
            elif method == b"GET" and path.rstrip(b"/").endswith(b"/models"):
                self.transport.write(_MODELS)
            else:
                self.transport.write(_NOT_FOUND)


def serve(host: str, port: int) -> None:
    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        server = await asyncio.get_running_loop().create_server(_Protocol, sock=sock, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()
    for _ in range(args.workers - 1):
        if os.fork() == 0:
            break
    try:
        serve(args.host, args.port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
