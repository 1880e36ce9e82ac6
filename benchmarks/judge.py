"""Judge benchmark: is curate's LLM path ever the bottleneck?

    .venv/bin/python benchmarks/judge.py [--pairs 2000] [--concurrency 64] [--rounds 3] [--llama-pairs 5] [--out benchmarks/results/judge.md]

A fast vLLM endpoint answers thousands of requests a second, so the client's
own overhead is what matters. ``benchmarks/instant_server.py`` (started here in
a subprocess) answers every request at once with a valid verdict; its capacity
is measured first with a raw keep-alive load generator, to show it is not the
limit. Then, in the same run (only same-run ratios mean anything):

- (a) baseline: a bare async loop under a semaphore sending the judge's own
  requests (pairs x 2 orders) the way curate's client sends them: the same
  ``openai.AsyncOpenAI`` raw ``post`` of an orjson body to ``/chat/completions``
  (``cast_to=httpx.Response``, no typed response objects), the body parsed with
  ``orjson.loads`` and ``choices[0].message.content`` read;
- (b) ``curate.judge.run`` on a warehouse of the same pairs, both orders, cold
  cache: selection, prompts, the LLM client (hashing, journal, limits), parsing,
  cache load and the ``judgments`` snapshot, end to end; target >= 0.9x (a);
- (b') ``LLMClient.complete`` alone on the same requests (no judge);
- (c) a fully cached re-run of (b) (``rejudge``: every answer from the cache,
  verdicts parsed and written again), and of (b'); target >= 5,000 verdicts/s;
- (d) the embedded llama.cpp server (SmolLM2-135M) judging ``--llama-pairs`` pairs.

The requests of (a) are read back from ``llm_requests`` of a warm-up judge run
on a separate warehouse, so the baseline sends exactly what the judge sends.
Load from other work drifts during a run, so (a), (b) and (b') are measured in
interleaved rounds and each keeps its best round; a cold round of (b) or (b')
uses a new seed, so its requests hash anew. Warehouses are built (and pairs
ingested) outside the timed regions. This is a benchmark, not a test: it
reports PASS/MISS and does not fail on a MISS. The report it prints is the file it
writes, headed by the command, commit, machine and load average read by the script itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import openai  # noqa: E402
import orjson  # noqa: E402
from provenance import header  # noqa: E402

from curate import ingest  # noqa: E402
from curate.llm import ChatRequest, EndpointConfig, LimitsConfig, LLMClient  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402
from schemas import LLM_REQUESTS  # noqa: E402
from schemas.vocab import RequestStatus  # noqa: E402

TARGET_RATIO = 0.9
TARGET_CACHED_PER_S = 5000
WORDS = ("the model answer question helpful response because data reward pair judge prompt tokens "
         "training preference careful honest useful clear short long example reason explain step").split()


@dataclass
class Row:
    name: str
    items: int
    unit: str
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else float("inf")


# --- the instant server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_instant_server(workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "instant_server.py"), "--port", str(port),
                                "--workers", str(workers)], start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base_url}/models", timeout=1).read()
            return process, base_url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the instant server did not start")


async def server_capacity(base_url: str, *, body: bytes, connections: int, seconds: float) -> float:
    """Requests/s the instant server answers to a raw keep-alive load generator (no HTTP library)."""
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    done = 0
    stop = time.monotonic() + seconds

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.monotonic() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            done += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return done / (time.monotonic() - started)


# --- workloads ---------------------------------------------------------------------------------


def synthetic_pairs(path: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)

    def text(words: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."

    with path.open("w") as fh:
        for i in range(n):
            row = {"prompt": f"Question {i}: {text(40)}", "chosen": text(rng.randint(60, 120)),
                   "rejected": text(rng.randint(20, 120))}
            fh.write(json.dumps(row) + "\n")
    return path


def warehouse_with_pairs(folder: Path, pairs_file: Path | None) -> Warehouse:
    wh = Warehouse.init(folder)
    if pairs_file:
        ingest.run(wh, ingest.IngestConfig(source=str(pairs_file), source_name="bench", detect_language=False))
    return wh


def recorded_requests(wh: Warehouse) -> list[dict]:
    """The bodies the judge sent, from ``llm_requests``: {"messages", "params"} each."""
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(f"SELECT request, template_hash FROM {LLM_REQUESTS.name} WHERE status = '{RequestStatus.OK}' "
                           "ORDER BY created_at").fetchall()
    return [{**json.loads(r[0]), "template_hash": r[1]} for r in rows]


async def bare_loop(base_url: str, model: str, requests: list[dict], concurrency: int) -> float:
    """The baseline: what curate's client does on the wire and no more (no cache, journal, limits or retries).

    Same HTTP client (``openai.AsyncOpenAI``, its own retries off), same raw ``post`` to
    ``/chat/completions`` with an orjson body (``cast_to=httpx.Response``), same parse of the body
    (``orjson.loads``, then ``choices[0].message.content``), under a semaphore of ``concurrency``."""
    gate = asyncio.Semaphore(concurrency)
    bodies = [orjson.dumps({**r["params"], "model": model, "messages": r["messages"]}) for r in requests]

    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-no-key", max_retries=0) as client:
        async def one(body: bytes) -> str | None:
            async with gate:
                response = await client.post("/chat/completions", cast_to=httpx.Response, content=body)
                return orjson.loads(response.content)["choices"][0]["message"]["content"]

        started = time.perf_counter()
        answers = await asyncio.gather(*(one(b) for b in bodies))
        seconds = time.perf_counter() - started
    assert all(answers), "the baseline got an empty answer"
    return seconds


def timed_judge(wh: Warehouse, cfg) -> tuple[float, dict]:
    from curate import judge

    started = time.perf_counter()
    result = judge.run(wh, cfg)
    seconds = time.perf_counter() - started
    return seconds, result.details


def timed_client(wh: Warehouse, endpoint: EndpointConfig, requests: list[ChatRequest], concurrency: int,
                 run_id: str) -> tuple[float, object]:
    started = time.perf_counter()
    with LLMClient(wh, endpoint, LimitsConfig(concurrency=concurrency), run_id=run_id) as client:
        results = client.complete(requests)
    seconds = time.perf_counter() - started
    assert all(r.status == RequestStatus.OK for r in results), "LLMClient failed requests"
    return seconds, client.usage


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="curate judge throughput vs a bare async loop posting the same requests")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each measurement keeps its best")
    parser.add_argument("--llama-pairs", type=int, default=5, help="pairs judged by the embedded server (0: skip)")
    parser.add_argument("--server-workers", type=int, default=1, help="instant server processes")
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".work" / "judge")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "judge.md")
    args = parser.parse_args()

    try:
        from curate import judge
    except ImportError as exc:  # the judge stage is not there: measure the client alone
        judge = None
        print(f"curate.judge not importable ({exc}); measuring LLMClient only", file=sys.stderr)

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    load_before = os.getloadavg()
    server, base_url = start_instant_server(args.server_workers)
    times: dict[str, list[float]] = {}
    notes: list[str] = []
    seen: dict[str, str] = {}  # per measurement, what its last round sent and read back

    def measure(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)
        print(f"  {name}: {seconds:.2f} s", file=sys.stderr)

    try:
        endpoint = EndpointConfig(base_url=base_url, model="instant-judge")
        pairs_file = synthetic_pairs(args.workdir / "pairs.jsonl", args.pairs)
        print("building warehouses ...", file=sys.stderr)
        warm = warehouse_with_pairs(args.workdir / "warm", pairs_file)
        cold = warehouse_with_pairs(args.workdir / "judge", pairs_file)
        bare_wh = warehouse_with_pairs(args.workdir / "client", None)

        cfg = None
        if judge:
            cfg = judge.JudgeConfig(base_url=base_url, model="instant-judge", rejudge=True,
                                    limits=LimitsConfig(concurrency=args.concurrency))
            judge.run(warm, cfg)  # warm-up, and the recording of what the judge sends
        else:
            requests = [ChatRequest([{"role": "user", "content": f"Judge pair {i} order {o}: " + " ".join(WORDS * 8)}],
                                    {"temperature": 0, "max_tokens": 128}, "bench") for i in range(args.pairs) for o in "AB"]
            timed_client(warm, endpoint, requests, args.concurrency, "warm")
        recorded = recorded_requests(warm)
        n = len(recorded)
        capacity = asyncio.run(server_capacity(base_url, body=json.dumps({"model": "instant-judge", **recorded[0]}).encode(),
                                               connections=args.concurrency, seconds=3))
        print(f"{n} requests recorded; instant server capacity {capacity:,.0f} req/s", file=sys.stderr)

        def client_requests(seed: int) -> list[ChatRequest]:  # a new seed: new hashes, a cold cache
            return [ChatRequest(r["messages"], {**r["params"], "seed": seed}, r["template_hash"]) for r in recorded]

        # Interleaved rounds: load from other work drifts, so each round measures everything once
        # and each measurement keeps its best round. A cold judge round uses a new seed (new hashes).
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr)
            measure("a", asyncio.run(bare_loop(base_url, "instant-judge", recorded, args.concurrency)))
            seen["a"] = f"{n:,} posted, {n:,} answers parsed"
            if judge:
                seconds, counts = timed_judge(cold, cfg.model_copy(update={"seed": 1000 + round_}))
                assert counts["judgments"] == n and counts["requests_sent"] == n, counts
                measure("b", seconds)
                seen["b"] = judge_note(counts)
            seconds, usage = timed_client(bare_wh, endpoint, client_requests(2000 + round_), args.concurrency,
                                          f"client-cold-{round_}")
            assert usage.requests_sent == n, usage
            measure("b'", seconds)
            seen["b'"] = client_note(usage)
        for round_ in range(args.rounds):
            if judge:
                seconds, counts = timed_judge(cold, cfg.model_copy(update={"seed": 1000}))
                assert counts["requests_sent"] == 0 and counts["cache_hits"] == n, counts
                measure("c", seconds)
                seen["c"] = judge_note(counts)
            seconds, usage = timed_client(bare_wh, endpoint, client_requests(2000), args.concurrency,
                                          f"client-cached-{round_}")
            assert usage.requests_sent == 0 and usage.cache_hits == n, usage
            measure("c'", seconds)
            seen["c'"] = client_note(usage)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    rows = [Row("(a) bare async loop, raw post + orjson", n, "requests", min(times["a"]), f"baseline; {seen['a']}")]
    if judge:
        rows.append(Row("(b) curate judge, cold cache", n, "verdicts", min(times["b"]), f"judge.run; {seen['b']}"))
    rows.append(Row("(b') LLMClient.complete only, cold", n, "results", min(times["b'"]), seen["b'"]))
    if judge:
        rows.append(Row("(c) curate judge, fully cached re-run", n, "verdicts", min(times["c"]), f"judge.run; {seen['c']}"))
    rows.append(Row("(c') LLMClient.complete only, cached", n, "results", min(times["c'"]), seen["c'"]))
    if judge and args.llama_pairs:
        rows.append(llama_row(args.workdir, pairs_file, args.llama_pairs, notes))
    notes.insert(0, "seconds per round (best is reported): "
                 + "; ".join(f"{k}: {', '.join(f'{t:.2f}' for t in v)}" for k, v in times.items()))
    load_after = os.getloadavg()
    report(args, rows, capacity, judge is not None, load_before, load_after, notes)
    shutil.rmtree(args.workdir, ignore_errors=True)


def judge_note(counts: dict) -> str:
    return (f"{counts['requests_sent']:,} sent, {counts['cache_hits']:,} from the cache, "
            f"{counts['judgments']:,} judgments written")


def client_note(usage) -> str:
    return f"{usage.requests_sent:,} sent, {usage.cache_hits:,} from the cache"


def llama_row(workdir: Path, pairs_file: Path, n_pairs: int, notes: list[str]) -> Row:
    from curate import judge
    from curate.judge import server as judge_server

    missing = judge_server.missing_requirements()
    if missing:
        notes.append(f"(d) skipped: {missing}")
        return Row("(d) embedded llama.cpp (skipped)", 0, "verdicts", 0.0, missing)
    wh = warehouse_with_pairs(workdir / "llama", pairs_file)
    started = time.perf_counter()
    with judge_server.start() as server:
        startup = time.perf_counter() - started
        cfg = judge.JudgeConfig(base_url=server.base_url, model=server.model, limit=n_pairs,
                                limits=LimitsConfig(concurrency=2, timeout_s=600))
        seconds, counts = timed_judge(wh, cfg)
    notes.append(f"(d) model `{server.model}`; server start-up {startup:.1f} s (not timed). "
                 f"Outcomes: {counts['outcomes']}, requests sent {counts['requests_sent']}.")
    return Row(f"(d) embedded llama.cpp, {n_pairs} pairs", counts["judgments"], "verdicts", seconds,
               f"{counts['requests_sent'] / seconds:.2f} requests/s")


def report(args, rows: list[Row], capacity: float, with_judge: bool, load_before, load_after, notes: list[str]) -> None:
    base = rows[0]
    lines = [
        "# Judge benchmark", "",
        *header(load_before, load_after),
        f"- workload: {args.pairs:,} synthetic pairs x 2 orders = {base.items:,} requests, concurrency {args.concurrency}; "
        f"instant server ({args.server_workers} process{'es' if args.server_workers != 1 else ''}) capacity {capacity:,.0f} requests/s with a raw keep-alive client",
        f"- (b) is {'curate.judge.run end to end' if with_judge else 'missing: curate.judge was not importable, LLMClient only'}; "
        f"best of {args.rounds} interleaved rounds per measurement",
        f"- targets: judge >= {TARGET_RATIO}x the bare loop's throughput; cached re-run >= {TARGET_CACHED_PER_S:,} verdicts/s",
        "",
        "| measurement | items | seconds | per second | vs (a) | target | note |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = row.rate / base.rate if row.items else 0.0
        target = ""
        if row.name.startswith("(b)"):
            target = "PASS" if ratio >= TARGET_RATIO else "MISS"
        elif row.name.startswith("(c)"):
            target = "PASS" if row.rate >= TARGET_CACHED_PER_S else "MISS"
        rate = "—" if not row.items else f"{row.rate:,.0f}" if row.rate >= 10 else f"{row.rate:.2f}"
        lines.append(f"| {row.name} | {row.items:,} {row.unit} | {row.seconds:.2f} | {rate} | {f'{ratio:.2f}x' if row.items else '—'} | "
                     f"{target} | {row.note} |")
    lines += [""] + [f"- {note}" for note in notes]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
