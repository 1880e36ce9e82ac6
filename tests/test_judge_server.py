"""The embedded llama.cpp judge server: start, health, stop, and clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from curate.judge import server as judge_server
from curate.judge.server import JudgeServerError

needs_server = pytest.mark.skipif(judge_server.missing_requirements() is not None,
                                  reason=f"embedded judge server unavailable: {judge_server.missing_requirements()}")


def gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@needs_server
def test_judge_server_answers_then_stops_even_on_an_exception():
    with pytest.raises(RuntimeError, match="boom"):
        with judge_server.start() as server:
            assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=10) as response:
                models = [m["id"] for m in json.load(response)["data"]]
            assert models == [server.model] == [judge_server.model_name(judge_server.default_model_path())]
            pid = server.process.pid
            raise RuntimeError("boom")
    assert server.process.poll() is not None and gone(pid)
    assert not server.log_path.exists()


@needs_server
@pytest.mark.slow
def test_judge_server_dies_with_a_killed_parent(tmp_path):
    pid_file = tmp_path / "pid"
    code = ("import sys, time\nfrom curate.judge import server as judge_server\n"
            "server = judge_server.start()\n"
            f"open({str(pid_file)!r}, 'w').write(str(server.process.pid))\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert parent.poll() is None and time.monotonic() < deadline, "the server never started"
            time.sleep(0.1)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert gone(int(pid_file.read_text()))


def test_judge_server_errors_name_the_problem(tmp_path):
    with pytest.raises(JudgeServerError, match="not found"):
        judge_server.start(model_path=tmp_path / "missing.gguf")
    if judge_server.missing_requirements() is None:
        broken = tmp_path / "broken.gguf"
        broken.write_bytes(b"not a gguf file")
        with pytest.raises(JudgeServerError, match="exited during start"):
            judge_server.start(model_path=broken, startup_timeout_s=60)
    else:
        with pytest.raises(JudgeServerError, match="pip install"):
            judge_server.start()
