"""A SIMULATED LLM judge: a local OpenAI-compatible server whose verdicts are scripted at a known accuracy.

    python benchmarks/sim_judge.py --pairs PAIRS.json --accuracy 0.75 --position-bias 0.2 --seed 0 [--port 0]

It exists so the curation benchmark can measure what the noise stage makes of a judge whose quality is
known exactly, which no real model offers. ``PAIRS.json`` lists the ORIGINAL orientation of every pair
(``[[chosen, rejected], ...]``, the texts as stored); the server finds the pair a request shows by the
texts inside the judge prompt's fences (``<data-NONCE name="response A">``), clipped the way the prompt
clips them, so the label the curation run was given (possibly flipped) never reaches it.

The script, per pair and per request:
- the judge's preference is the original chosen response with probability ``accuracy``, else the original
  rejected one; it is drawn once per pair (a hash of seed and texts), so both orders share it and a
  position-consistent verdict is right with probability ``accuracy`` exactly;
- position bias: each request, with probability ``position_bias``, answers "A" whatever it prefers.
  A biased answer in the order that shows the preferred response as B makes the pair inconsistent,
  so the bias costs coverage (the views show it as a preference for A), never accuracy;
- a pair it cannot find answers "tie" (counted as such by the run).

The first line on stdout is ``PORT <n>`` once the server listens. It serves until killed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "simulated-judge"
_FENCE = re.compile(r'<data-(\w+) name="response (A|B)">\n(.*?)\n</data-\1>', re.DOTALL)


def clip(text: str, max_chars: int) -> str:
    """What the judge prompt shows of a response (``curate.judge.prompt`` cuts long texts the same way)."""
    return text if len(text) <= max_chars else text[:max_chars] + f"\n[... {len(text) - max_chars} more characters cut]"


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from the parts: the script's coin, the same for every order and run."""
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:13], 16) / 2**52


class Script:
    """The scripted judge: which position it names for a request showing responses ``a`` and ``b``."""

    def __init__(self, pairs: list[list[str]], accuracy: float, position_bias: float, seed: int, max_chars: int) -> None:
        self.accuracy, self.position_bias, self.seed = accuracy, position_bias, str(seed)
        self.original = {(clip(c, max_chars), clip(r, max_chars)) for c, r in pairs}  # (chosen, rejected) as shown

    def winner(self, a: str, b: str) -> str:
        if (a, b) in self.original:
            chosen, rejected, chosen_at = a, b, "A"
        elif (b, a) in self.original:
            chosen, rejected, chosen_at = b, a, "B"
        else:
            return "tie"
        if _unit(self.seed, "bias", chosen_at, chosen, rejected) < self.position_bias:  # drawn per pair and order
            return "A"
        right = _unit(self.seed, "right", chosen, rejected) < self.accuracy  # drawn per pair: both orders agree
        return chosen_at if right else ("B" if chosen_at == "A" else "A")


def _completion(winner: str, body: dict) -> bytes:
    content = json.dumps({"winner": winner, "confidence": 0.8, "rationale": "simulated verdict"})
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop", "logprobs": None}
    if body.get("logprobs"):  # one token carries the winner, with the three alternatives the parser reads
        start = content.index('"winner": "') + len('"winner": "')
        top = [{"token": t, "logprob": -0.22 if t == winner else -2.5} for t in ("A", "B", "tie")]
        choice["logprobs"] = {"content": [
            {"token": content[:start], "logprob": -0.01, "top_logprobs": []},
            {"token": winner, "logprob": -0.22, "top_logprobs": top},
            {"token": content[start + len(winner):], "logprob": -0.05, "top_logprobs": []}]}
    return json.dumps({"id": "simulated", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", MODEL),
                       "choices": [choice], "usage": {"prompt_tokens": 400, "completion_tokens": 24, "total_tokens": 424}}).encode()


def serve(script: Script, port: int = 0) -> ThreadingHTTPServer:
    """A threaded loopback server answering ``POST .../chat/completions`` from ``script``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode())

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if not self.path.endswith("/chat/completions"):
                return self._send(404, b"{}")
            user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
            shown = {m[2]: m[3] for m in _FENCE.finditer(user)}
            self._send(200, _completion(script.winner(shown.get("A", ""), shown.get("B", "")), body))

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", required=True, help="JSON list of [original chosen, original rejected] texts")
    parser.add_argument("--accuracy", type=float, default=0.75, help="P(a position-consistent verdict names the original chosen)")
    parser.add_argument("--position-bias", type=float, default=0.2, help="P(a request is answered 'A' whatever the judge prefers)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-chars", type=int, default=4000, help="the judge config's max_chars (how the prompt clips)")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    args = parser.parse_args()
    with open(args.pairs, encoding="utf-8") as f:
        script = Script(json.load(f), args.accuracy, args.position_bias, args.seed, args.max_chars)
    server = serve(script, args.port)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
