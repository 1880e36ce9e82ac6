"""`curate serve` against a real Prefect server on loopback: a deployment with a short interval is registered,
a scheduled run of it completes, and it did the pipeline's work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from conftest import query, trl, write_jsonl

from curate.servers import free_port
from curate.warehouse import Warehouse


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout_s:.0f}s")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_schedules_a_pipeline_run_that_completes(tmp_path):
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", [trl(prompt=f"q{i}") for i in range(3)])
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"warehouse": "wh", "stages": ["ingest"],
                                      "ingest": {"sources": [{"source": "data/*.jsonl", "detect_language": False}]}}))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    prefect = Path(sys.executable).with_name("prefect")
    curate = Path(sys.executable).with_name("curate")
    server = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    served = None
    try:
        _wait(lambda: _healthy(api), 180, "the Prefect server did not answer")
        served = subprocess.Popen([str(curate), "serve", "--config", str(config), "--interval", "3"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def completed_runs():
            body = {"deployments": {"name": {"any_": ["pipeline"]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
            return httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()

        runs = _wait(completed_runs, 240, "no scheduled run of the pipeline completed")
        assert runs[0]["deployment_id"] and runs[0]["auto_scheduled"]  # a run the schedule made, not a manual one
        assert query(Warehouse.open(tmp_path / "wh"), "SELECT count(*) FROM pairs") == [(3,)]
    finally:
        for process in (served, server):
            if process is not None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def test_serve_without_a_prefect_server_says_how_to_start_one(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from curate.cli import app

    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"warehouse": "wh", "stages": ["ingest"]}))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--interval", "60"])
    assert result.exit_code == 2 and "prefect server start" in result.output
