"""The LLM client against real HTTP: a scripted fault server on loopback, and the embedded llama.cpp server."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultserver import FaultServer

from curate.errors import ConfigError
from curate.llm import ChatRequest, EndpointConfig, LimitsConfig, LLMClient, endpoint_identity, request_hash
from curate.llm.limits import Price, TokenBucket, backoff_delay, price_for, retry_after_seconds
from curate.llm.store import journal_path
from curate.warehouse import Warehouse

MODEL = "fault-model"
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5.0}


def chat_requests(n: int, prefix: str = "q", **params) -> list[ChatRequest]:
    """n distinct requests; the last message's content is the fault server's script key."""
    params = {"temperature": 0, "max_tokens": 64, **params}
    return [ChatRequest([{"role": "system", "content": "Judge."}, {"role": "user", "content": f"{prefix}-{i}"}],
                        params, "tmpl-1", tag=i) for i in range(n)]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Warehouse:
    """One warehouse for the module (migrating a fresh one per test costs seconds); tests keep
    apart by distinct request texts and run ids."""
    return Warehouse.init(tmp_path_factory.mktemp("llm") / "wh")


@pytest.fixture
def fault():
    with FaultServer() as server:
        yield server


def client(wh: Warehouse, server: FaultServer, run_id: str, **limits) -> LLMClient:
    endpoint = EndpointConfig(base_url=server.base_url, model=MODEL, api_key_env=limits.pop("api_key_env", None))
    return LLMClient(wh, endpoint, LimitsConfig(**{**FAST, **limits}), run_id=run_id)


def query(wh: Warehouse, sql: str, params: list | None = None) -> list[tuple]:
    """Read the warehouse without the named views (this module tests the table, not the views)."""
    with wh.connect(read_only=True, views=False) as con:
        return con.execute(sql, params or []).fetchall()


def stored(wh: Warehouse, *run_ids: str) -> list[dict]:
    """llm_requests rows written by these runs."""
    rows = query(wh, "SELECT request_hash, status, error, attempt, retries, prompt_tokens, completion_tokens, cost_usd, "
                     "run_id, text FROM llm_requests WHERE list_contains(?, run_id) ORDER BY created_at", [list(run_ids)])
    names = ["request_hash", "status", "error", "attempt", "retries", "prompt_tokens", "completion_tokens",
             "cost_usd", "run_id", "text"]
    return [dict(zip(names, row)) for row in rows]


def assert_reconciles(usage, n: int) -> None:
    assert usage.requested == n
    assert usage.requests_sent + usage.cache_hits + usage.duplicates + usage.skipped == n


# --- pure rules --------------------------------------------------------------------------------


def test_llm_hash_covers_the_request_not_the_tag_key_or_local_port():
    a = EndpointConfig(base_url="http://127.0.0.1:8080/v1", model="m", api_key_env="K1")
    b = EndpointConfig(base_url="http://localhost:9999/v1/", model="m", api_key_env="K2")
    req = ChatRequest([{"role": "user", "content": "hi"}], {"temperature": 0, "seed": 1}, "t", tag="x")
    same = ChatRequest([{"content": "hi", "role": "user"}], {"seed": 1, "temperature": 0}, "t", tag="y")
    assert request_hash(a, req) == request_hash(b, same)
    assert request_hash(a, req) != request_hash(a, ChatRequest(req.messages, req.params, "t2"))
    assert request_hash(a, req) != request_hash(a, ChatRequest(req.messages, {"temperature": 0.7, "seed": 1}, "t"))
    remote = EndpointConfig(base_url="https://user:pw@api.example.com:443/v1?x=1", model="m")
    assert request_hash(a, req) != request_hash(remote, req)
    assert endpoint_identity(remote.base_url) == "api.example.com/v1"
    assert endpoint_identity("http://gpu-box:8000/v1") == "gpu-box:8000/v1"


def test_llm_prices_match_snapshots_and_overrides():
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("openai/GPT-4o") == price_for("gpt-4o")
    assert price_for("gpt-4o-mini").input < price_for("gpt-4o").input
    assert price_for("no-such-model") is None
    assert price_for("no-such-model", {"no-such-model": Price(input=1, output=2)}).cost(1_000_000, 0) == 1.0


def test_llm_backoff_honours_retry_after_and_jitters():
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert backoff_delay(3, base_s=1, max_s=60, retry_after_s=2.5) == 2.5
    assert backoff_delay(1, base_s=1, max_s=60, retry_after_s=999) == 60
    delays = {backoff_delay(4, base_s=1, max_s=60, retry_after_s=None) for _ in range(20)}
    assert len(delays) > 1 and all(0 <= d <= 8 for d in delays)
    assert TokenBucket(600).capacity == 10


def test_llm_token_bucket_lets_a_big_take_through_then_makes_the_next_wait():
    async def scenario() -> tuple[float, float]:
        bucket = TokenBucket(60_000)  # 1,000 tokens/s, holds one second's worth
        await bucket.take(1_500)  # more than it holds: goes through on a full bucket, leaves a debt of 500
        started = time.monotonic()
        await bucket.take(1)
        waited = time.monotonic() - started
        bucket.adjust(-1_000)  # the estimate was too high: give tokens back
        started = time.monotonic()
        await bucket.take(100)
        return waited, time.monotonic() - started

    waited, then = asyncio.run(scenario())
    assert 0.4 <= waited < 2 and then < 0.05


def test_llm_max_cost_without_a_price_is_a_config_error(lake):
    endpoint = EndpointConfig(base_url="https://api.example.com/v1", model="mystery-model")
    with pytest.raises(ConfigError, match="no price"):
        LLMClient(lake, endpoint, LimitsConfig(max_cost_usd=1.0), run_id="unpriced")


def test_llm_unpriced_remote_model_costs_none_and_the_cache_keeps_it(lake, fault, monkeypatch):
    # the fault server as an HTTP proxy: a remote-looking URL reaches it (it answers by the request body)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fault.base_url.removesuffix("/v1"))
    fault.script("unpriced-2", "400")
    endpoint = EndpointConfig(base_url="http://llm.invalid/v1", model="mystery-model")
    with LLMClient(lake, endpoint, LimitsConfig(**FAST), run_id="unpriced-1") as llm:
        first = llm.complete(chat_requests(3, "unpriced"))
    assert [(r.status, r.cost_usd) for r in first] == [("ok", None), ("ok", None), ("failed", None)]
    assert first[0].prompt_tokens > 0 and llm.usage.cost_usd is None and llm.usage.unpriced == 3
    assert query(lake, "SELECT count(*), count(cost_usd) FROM llm_requests WHERE run_id = 'unpriced-1'") == [(3, 0)]
    with LLMClient(lake, endpoint, LimitsConfig(**FAST), run_id="unpriced-2") as llm:
        again = llm.complete(chat_requests(2, "unpriced"))
    assert [(r.cached, r.cost_usd) for r in again] == [(True, None), (True, None)]
    assert llm.usage.cost_usd == 0.0 and llm.usage.requests_sent == 0  # nothing sent: nothing spent
    assert len(fault.received) == 3


# --- faults ------------------------------------------------------------------------------------


def test_llm_retries_429_5xx_and_garbage_then_succeeds(lake, fault):
    fault.script("retry-0", "429", "429", "ok")
    fault.script("retry-1", "500", "503", "garbage", "nochoices", "ok")
    fault.script("retry-2", "429:0.3", "ok")  # Retry-After: 0.3 s, far above the 0.01 s backoff base
    with client(lake, fault, "retry", max_retries=5) as llm:
        results = llm.complete(chat_requests(4, "retry"))
    assert [r.status for r in results] == ["ok"] * 4
    assert [r.request.tag for r in results] == [0, 1, 2, 3]
    assert llm.usage.retries == 2 + 4 + 1 and llm.usage.failed == 0
    assert len(fault.received_for("retry-0")) == 3 and len(fault.received_for("retry-1")) == 5
    first, second = fault.received_for("retry-2")
    assert second.at - first.at >= 0.25
    rows = stored(lake, "retry")
    assert sorted(r["retries"] for r in rows) == [0, 1, 2, 4]
    assert all(r["status"] == "ok" for r in rows)


def test_llm_failures_are_recorded_never_served_and_retried_next_run(lake, fault):
    fault.script("fail-0", *["500"] * 3)  # more 500s than max_retries allows
    fault.script("fail-1", "400")  # a client error: no retry
    fault.script("fail-2", "stall", "stall", "stall")  # silent past the timeout, every try
    with client(lake, fault, "fail", max_retries=2, timeout_s=0.3) as llm:
        results = llm.complete(chat_requests(4, "fail"))
    assert [r.status for r in results] == ["failed", "failed", "failed", "ok"]
    assert "HTTP 500" in results[0].error and "HTTP 400" in results[1].error and "timed out" in results[2].error
    assert [len(fault.received_for(f"fail-{i}")) for i in range(3)] == [3, 1, 3]
    assert llm.usage.failed == 3 and llm.usage.requests_sent == 4
    failed = {r["request_hash"]: r for r in stored(lake, "fail") if r["status"] == "failed"}
    assert set(failed) == {r.request_hash for r in results[:3]}
    assert all(r["error"] and r["text"] is None for r in failed.values())

    with client(lake, fault, "fail-again") as llm:  # the server is healthy now: only the failures are sent again
        again = llm.complete(chat_requests(4, "fail"))
    assert [r.status for r in again] == ["ok"] * 4 and [r.cached for r in again] == [False] * 3 + [True]
    assert [len(fault.received_for(f"fail-{i}")) for i in range(4)] == [4, 2, 4, 1]
    assert {r["attempt"] for r in stored(lake, "fail-again")} == {2}


def test_llm_rerun_sends_zero_requests_and_counts_reconcile(lake, fault):
    requests = chat_requests(20, "rerun") + chat_requests(5, "rerun")  # five repeats inside the run: sent once
    prices = {MODEL: Price(input=1000, output=2000)}
    with client(lake, fault, "rerun", prices=prices) as llm:
        first = llm.complete(requests)
        assert len(fault.received) == 20
        assert [r.status for r in llm.complete(requests[:3])] == ["ok"] * 3  # the same client remembers
        usage = llm.usage
    assert len(fault.received) == 20
    assert usage.requests_sent == 20 and usage.duplicates == 5 and usage.cache_hits == 3
    assert_reconciles(usage, 28)
    rows = stored(lake, "rerun")
    assert len(rows) == 20 and len({r["request_hash"] for r in rows}) == 20
    assert sum(r["prompt_tokens"] for r in rows) == usage.prompt_tokens == sum(r.prompt_tokens for r in first[:20])
    assert sum(r["completion_tokens"] for r in rows) == usage.completion_tokens
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(usage.cost_usd) and usage.cost_usd > 0

    with client(lake, fault, "rerun-again", prices=prices) as llm:
        second = llm.complete(requests)
    assert len(fault.received) == 20  # zero new requests
    assert llm.usage.requests_sent == 0 and llm.usage.cache_hits == 20 and llm.usage.cost_usd == 0
    assert_reconciles(llm.usage, 25)
    assert all(r.cached for r in second)
    assert [(r.text, r.prompt_tokens, r.cost_usd) for r in second] == [(r.text, r.prompt_tokens, r.cost_usd) for r in first]
    assert stored(lake, "rerun-again") == []  # hits add no rows


def test_llm_max_requests_stops_new_requests(lake, fault):
    with client(lake, fault, "capped", concurrency=2, max_requests=4) as llm:
        results = llm.complete(chat_requests(10, "capped"))
    assert len(fault.received) == 4
    assert [r.status for r in results].count("skipped") == 6
    assert llm.usage.stopped_by == "max_requests" and llm.usage.skipped == 6
    assert_reconciles(llm.usage, 10)
    assert len(stored(lake, "capped")) == 4  # skipped requests are not recorded


def test_llm_max_cost_stops_new_requests(lake, fault):
    requests = chat_requests(10, "budget")
    per_request = fault.completion({"messages": requests[0].messages})["usage"]["total_tokens"] / 1000
    prices = {MODEL: Price(input=1000, output=1000)}  # USD per 1M tokens: total_tokens / 1000 USD each
    with client(lake, fault, "budget", concurrency=1, max_cost_usd=3.5 * per_request, prices=prices) as llm:
        results = llm.complete(requests)
    assert [r.status for r in results] == ["ok"] * 3 + ["skipped"] * 7
    assert llm.usage.stopped_by == "max_cost" and len(fault.received) == 3
    assert llm.usage.cost_usd == pytest.approx(3 * per_request)


def test_llm_concurrency_and_rpm_limits_hold_at_the_server(lake, fault):
    fault.default = "slow:0.05"
    with client(lake, fault, "bounded", concurrency=3) as llm:
        llm.complete(chat_requests(12, "bounded"))
    assert fault.max_in_flight == 3

    fault.default = "ok"
    with client(lake, fault, "rpm", concurrency=8, requests_per_minute=600) as llm:  # 10/s, bursts of 10
        llm.complete(chat_requests(25, "rpm"))
    times = sorted(r.at for r in fault.received if r.key.startswith("rpm"))
    assert len(times) == 25
    assert times[-1] - times[0] >= 1.2  # 15 requests beyond the first burst need 1.5 s at 10/s
    assert sum(t - times[0] < 0.5 for t in times) <= 16


def test_llm_cache_sees_a_live_clients_journal(lake, fault):
    with client(lake, fault, "live") as first:
        first.complete(chat_requests(5, "live"))
        assert journal_path(lake, "live").exists()
        with client(lake, fault, "live-reader") as second:  # "live" has not loaded its journal yet
            results = second.complete(chat_requests(5, "live"))
        assert all(r.cached for r in results) and len(fault.received) == 5
    assert not journal_path(lake, "live").exists() and len(stored(lake, "live")) == 5


def test_llm_complete_works_inside_a_running_event_loop(lake, fault):
    async def caller() -> list:
        with client(lake, fault, "in-loop") as llm:
            sync = llm.complete(chat_requests(2, "in-loop"))
            both = await llm.acomplete(chat_requests(3, "in-loop"))
        return sync + both

    assert [r.status for r in asyncio.run(caller())] == ["ok"] * 5 and len(fault.received) == 3


def test_llm_api_key_never_lands_on_disk(lake, fault, monkeypatch):
    secret = "sk-test-DO-NOT-STORE-4f9a1c"
    monkeypatch.setenv("CURATE_TEST_KEY", secret)
    fault.script("key-0", "400")  # the error body echoes the Authorization header back
    fault.script("key-1", "401")
    with client(lake, fault, "key", api_key_env="CURATE_TEST_KEY") as llm:
        results = llm.complete(chat_requests(4, "key"))
        journal = journal_path(lake, "key").read_bytes()
    assert all(r.authorization == f"Bearer {secret}" for r in fault.received)  # the key was used
    assert all(secret not in (r.error or "") for r in results) and "***" in results[0].error
    assert secret.encode() not in journal and len(journal.splitlines()) == 4
    for path in lake.path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    row_text = query(lake, "SELECT string_agg(CAST(COLUMNS(*) AS VARCHAR), ' ') FROM llm_requests")
    assert secret not in str(row_text) and "***" in str(row_text)
    monkeypatch.delenv("CURATE_TEST_KEY")
    with pytest.raises(ConfigError, match="CURATE_TEST_KEY") as raised:
        client(lake, fault, "key-missing", api_key_env="CURATE_TEST_KEY")
    assert secret not in str(raised.value)


def test_llm_base_url_credentials_and_query_never_land_on_disk(lake, fault):
    secret, token = "pw-DO-NOT-STORE-7c2e", "qk-DO-NOT-STORE-91ab"
    base_url = fault.base_url.replace("http://", f"http://judge:{secret}@") + f"?api-key={token}"
    basic = base64.b64encode(f"judge:{secret}".encode())
    fault.script("url-1", "401")  # the error body echoes the Authorization header: Basic base64(judge:secret)
    with LLMClient(lake, EndpointConfig(base_url=base_url, model=MODEL), LimitsConfig(**FAST), run_id="url") as llm:
        results = llm.complete(chat_requests(3, "url"))
        journal = journal_path(lake, "url").read_bytes()
    assert [r.status for r in results] == ["ok", "failed", "ok"]  # the query string did not swallow the path
    assert fault.received_for("url-0")[0].authorization == f"Basic {basic.decode()}"  # the credentials were used
    assert len(journal.splitlines()) == 3 and "***" in results[1].error
    for blob in [journal, *(path.read_bytes() for path in lake.path.rglob("*") if path.is_file())]:
        assert secret.encode() not in blob and token.encode() not in blob and basic not in blob
    assert query(lake, "SELECT DISTINCT endpoint FROM llm_requests WHERE run_id = 'url'") == [(fault.base_url,)]


CHILD = """
import json, sys
from curate.llm import ChatRequest, EndpointConfig, LimitsConfig, LLMClient
from curate.warehouse import Warehouse
wh_path, base_url, requests_file, run_id = sys.argv[1:5]
requests = [ChatRequest(**r) for r in json.load(open(requests_file))]
endpoint = EndpointConfig(base_url=base_url, model="fault-model")
with LLMClient(Warehouse.open(wh_path), endpoint, LimitsConfig(concurrency=4, timeout_s=60), run_id=run_id) as llm:
    llm.complete(requests)
"""


@pytest.mark.slow
def test_llm_killed_run_resumes_without_duplicate_requests(lake, fault, tmp_path):
    n, answered_before_kill = 30, 10
    requests = chat_requests(n, "kill")
    requests_file = tmp_path / "requests.json"
    requests_file.write_text(json.dumps([{"messages": r.messages, "params": r.params, "template_hash": r.template_hash}
                                         for r in requests]))
    fault.answer_limit = answered_before_kill  # the server hangs after 10 answers
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(lake.path), fault.base_url, str(requests_file), "killed"],
                             cwd=Path(__file__).parents[1])
    journal = journal_path(lake, "killed")
    try:
        deadline = time.monotonic() + 180  # a cold child (imports, warehouse) is slow on a loaded 2-core machine
        while not (journal.exists() and len(journal.read_bytes().splitlines()) == answered_before_kill):
            assert child.poll() is None and time.monotonic() < deadline, "the child never journaled its answers"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert fault.total_answered == answered_before_kill
    assert len(journal.read_bytes().splitlines()) == answered_before_kill  # nothing loaded: the child was killed

    fault.answer_limit = None
    with client(lake, fault, "resumed") as llm:  # loads the orphan journal first
        results = llm.complete(requests)
    assert [r.status for r in results] == ["ok"] * n
    assert llm.usage.cache_hits == answered_before_kill and llm.usage.requests_sent == n - answered_before_kill
    assert sorted(fault.answered.values()) == [1] * n  # each distinct request answered exactly once overall
    rows = stored(lake, "killed", "resumed")
    assert len(rows) == n and {r["status"] for r in rows} == {"ok"}
    assert len({r["request_hash"] for r in rows}) == n
    assert sum(r["run_id"] == "killed" for r in rows) == answered_before_kill
    assert not journal.exists()


# --- the real embedded server ------------------------------------------------------------------


@pytest.mark.slow
def test_llm_real_requests_against_llama_server(lake, llama_server):
    endpoint = EndpointConfig(base_url=llama_server.base_url, model=llama_server.model)
    requests = [ChatRequest([{"role": "user", "content": f"Say the number {i}."}],
                            {"temperature": 0, "max_tokens": 4, "logprobs": True, "top_logprobs": 2}, "t")
                for i in range(2)]
    with LLMClient(lake, endpoint, LimitsConfig(concurrency=2, timeout_s=120), run_id="real") as llm:
        results = llm.complete(requests)
    assert [r.status for r in results] == ["ok"] * 2, [r.error for r in results]
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 and r.cost_usd == 0 for r in results)
    assert all(r.logprobs and "top_logprobs" in r.logprobs[0] for r in results)
    assert {r["status"] for r in stored(lake, "real")} == {"ok"} and len(stored(lake, "real")) == 2
    with LLMClient(lake, endpoint, LimitsConfig(), run_id="real-again") as llm:
        assert all(r.cached for r in llm.complete(requests))
