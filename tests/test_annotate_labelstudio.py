"""Push and pull against a real Label Studio: the project and its blind interface, sides randomized with
the mapping kept in the warehouse, two annotators through the API, pull idempotency, edits as versions,
and the CLI's error when no server answers."""

from __future__ import annotations

import httpx
import pytest
from conftest import query, run_ingest, trl, write_jsonl
from typer.testing import CliRunner

from curate.annotate import LabelStudioConfig, PullConfig, PushConfig, RoutingPolicy, pull, push
from curate.annotate.labelstudio import LabelStudio
from curate.cli import app
from curate.warehouse import Warehouse


def _result(preference: int, reason: str | None = None) -> list[dict]:
    result = [{"from_name": "preference", "to_name": "response_1", "type": "choices", "value": {"choices": [str(preference)]}}]
    if reason:
        result.append({"from_name": "reason", "to_name": "response_1", "type": "textarea", "value": {"text": [reason]}})
    return result


def _teammate(server, email: str, password: str) -> httpx.Client:
    """A second annotator: signs up through the organization's invite link, as a teammate would."""
    with LabelStudio(server.url, server.admin.token) as admin:
        invite = admin.invite_url()
    session = httpx.Client(base_url=server.url, timeout=60)
    session.get(invite)
    response = session.post(invite, data={"email": email, "password": password,
                                          "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                            headers={"Referer": invite})
    assert response.status_code == 302, response.text[:300]
    session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
    session.headers["Referer"] = server.url
    return session


@pytest.fixture(scope="module")
def pushed(label_studio, tmp_path_factory):
    root = tmp_path_factory.mktemp("annotate")
    wh = Warehouse.init(root / "wh")
    rows = [trl(prompt=[{"role": "user", "content": f"Hi, question {i}."}, {"role": "assistant", "content": "Go ahead."},
                        {"role": "user", "content": f"How do I boil {i} eggs?"}],
                chosen=f"Boil water, add {i} eggs, wait nine minutes.", rejected="Eggs are overrated.") for i in range(12)]
    run_ingest(wh, write_jsonl(root / "pairs.jsonl", rows), detect_language=False)
    ls = LabelStudioConfig(url=label_studio.url, project="curate test")
    result = push.run(wh, PushConfig(label_studio=ls, routing=RoutingPolicy(limit=10), overlap=2))
    return wh, ls, result


def test_annotate_push_creates_blind_side_randomized_tasks_with_the_mapping_in_the_warehouse(label_studio, pushed):
    wh, ls, result = pushed
    assert result.rows_in == 10
    with LabelStudio.connect(ls) as client:
        project = client.project_by_title("curate test")
        tasks = client.request("GET", "/api/tasks", params={"project": project["id"], "page_size": 100})["tasks"]
    assert project["maximum_annotations"] == 2 and 'name="preference"' in project["label_config"]
    assert "suggestion" not in project["label_config"]  # blind by default
    sides = dict(query(wh, "SELECT pair_id, left_is_chosen FROM annotation_tasks"))
    chosen = dict(query(wh, "SELECT pair_id, chosen.content FROM pairs"))
    assert len(tasks) == 10 and set(sides.values()) == {True, False}  # both sides drawn
    for task in tasks:
        data = task["data"]
        assert set(data) == {"messages", "left", "right", "pair_id", "batch_id"}  # nothing says which side was chosen
        assert len(data["messages"]) == 3 and data["messages"][-1]["role"] == "user"
        assert (data["left"] == chosen[data["pair_id"]]) == sides[data["pair_id"]]
    state = query(wh, "SELECT tasks, started, done, state FROM annotation_batch_state")
    assert state == [(10, 0, 0, "pushed")]


def test_annotate_pull_maps_two_annotators_back_idempotently_and_keeps_edits_as_versions(label_studio, pushed):
    wh, ls, result = pushed
    admin = httpx.Client(base_url=label_studio.url, headers={"Authorization": f"Token {label_studio.admin.token}"}, timeout=60)
    bob = _teammate(label_studio, "bob@example.org", "bob-pass-12345")
    tasks = admin.get("/api/tasks", params={"project": result.details["project_id"], "page_size": 100}).json()["tasks"][:3]
    sides = dict(query(wh, "SELECT pair_id, left_is_chosen FROM annotation_tasks"))
    # admin says response 1 is better (-2) on all three; bob agrees on the first, calls the second a tie
    ids = [admin.post(f"/api/tasks/{t['id']}/annotations", json={"result": _result(-2, "clearer"), "lead_time": 4.0}).json()["id"]
           for t in tasks]
    bob.post(f"/api/tasks/{tasks[0]['id']}/annotations", json={"result": _result(-1), "lead_time": 9.5}).raise_for_status()
    bob.post(f"/api/tasks/{tasks[1]['id']}/annotations", json={"result": _result(0)}).raise_for_status()

    first = pull.run(wh, PullConfig(label_studio=ls))
    assert first.outcomes == {"new": 5, "edited": 0, "unchanged": 0}
    rows = query(wh, "SELECT pair_id, annotator, strength, verdict, reason, lead_time, version FROM annotations_latest")
    by = {(p, a): (s, v, r, t) for p, a, s, v, r, t, _ in rows}
    for task in tasks:
        pair = task["data"]["pair_id"]
        expected = 2 if sides[pair] else -2  # response 1 better: the stored chosen response when it was on the left
        assert by[(pair, "admin@curate.local")] == (expected, "chosen" if expected > 0 else "rejected", "clearer", 4.0)
    assert by[(tasks[0]["data"]["pair_id"], "bob@example.org")][0] == (1 if sides[tasks[0]["data"]["pair_id"]] else -1)
    assert by[(tasks[1]["data"]["pair_id"], "bob@example.org")][:2] == (0, "tie")

    again = pull.run(wh, PullConfig(label_studio=ls))
    assert again.outcomes == {"new": 0, "edited": 0, "unchanged": 5} and again.rows_written == 0

    admin.patch(f"/api/annotations/{ids[0]}", json={"result": _result(3)}).raise_for_status()  # changes their mind
    edited = pull.run(wh, PullConfig(label_studio=ls))
    assert edited.outcomes == {"new": 0, "edited": 1, "unchanged": 4}
    versions = query(wh, "SELECT version, strength FROM annotations WHERE annotation_id = ? ORDER BY version", [str(ids[0])])
    flip = 1 if sides[tasks[0]["data"]["pair_id"]] else -1
    assert versions == [(1, 2 * flip), (2, -3 * flip)]  # the old version stays; the latest view shows the new one
    assert query(wh, "SELECT strength FROM annotations_latest WHERE annotation_id = ?", [str(ids[0])]) == [(-3 * flip,)]
    state = query(wh, "SELECT tasks, started, done, state FROM annotation_batch_state")
    assert state == [(10, 3, 2, "partly done")]  # overlap 2: the two tasks both annotators did are done


def test_annotate_cli_push_without_a_server_says_how_to_start_one(tmp_path, monkeypatch):
    wh = Warehouse.init(tmp_path / "wh")
    run_ingest(wh, write_jsonl(tmp_path / "p.jsonl", [trl()]), detect_language=False)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-a-real-token")
    result = CliRunner().invoke(app, ["annotate", "push", "-w", str(wh.path), "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 8 and "curate annotate server" in result.output
    assert "not-a-real-token" not in result.output
    assert query(wh, "SELECT count(*) FROM annotation_batches") == [(0,)]  # nothing recorded for tasks never made


def test_annotate_cli_push_without_a_token_names_the_variable(tmp_path, monkeypatch):
    wh = Warehouse.init(tmp_path / "wh")
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    run_ingest(wh, write_jsonl(tmp_path / "p.jsonl", [trl()]), detect_language=False)
    result = CliRunner().invoke(app, ["annotate", "push", "-w", str(wh.path)])
    assert result.exit_code == 2 and "LABEL_STUDIO_API_KEY" in result.output


def test_annotate_token_is_never_written_to_the_warehouse(label_studio, pushed):
    wh, ls, _ = pushed
    pull.run(wh, PullConfig(label_studio=ls))
    token = label_studio.admin.token.encode()
    files = [p for p in wh.path.rglob("*") if p.is_file()]
    assert files and not [p for p in files if token in p.read_bytes()]


def test_annotate_pull_flow_collects_without_waiting_and_passes_no_token(prefect_harness, label_studio, pushed):
    """The scheduled pull as a Prefect flow: it takes what is done and returns; its parameters hold no token."""
    from flows.annotate import annotate_pull_flow

    wh, ls, _ = pushed
    parameters = {"warehouse": str(wh.path), "pull_config": {"label_studio": {"url": ls.url}}, "rescore": False}
    result = annotate_pull_flow(**parameters)
    assert result["pull"]["stage"] == "annotate_pull" and result["pull"]["rows_written"] == 0
    assert label_studio.admin.token not in repr(parameters) + repr(result)


def test_annotate_cli_server_push_pull_end_to_end(tmp_path):
    """The README's commands as a user runs them: `curate annotate server` in one terminal until Ctrl-C,
    `push --limit 10` and `pull` in another, with an annotation made in between."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from curate.annotate import server as ls_server
    from curate.servers import free_port

    missing = ls_server.missing_requirements()
    if missing:
        pytest.skip(f"Label Studio unavailable: {missing}")
    wh = Warehouse.init(tmp_path / "wh")
    run_ingest(wh, write_jsonl(tmp_path / "p.jsonl", [trl(prompt=f"q{i}", chosen=f"yes {i}", rejected=f"no {i}") for i in range(12)]),
               detect_language=False)
    port, token = free_port(), "fedcba9876543210fedcba9876543210fedcba98"
    env = {**os.environ, "LABEL_STUDIO_PASSWORD": "cli-test-pass-1", "LABEL_STUDIO_API_KEY": token}
    curate = Path(sys.executable).with_name("curate")
    server = subprocess.Popen([str(curate), "annotate", "server", "-w", str(wh.path), "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines, deadline = [], time.monotonic() + 300
        while time.monotonic() < deadline and not any("then: curate annotate push" in line for line in lines):
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            lines.append(line)
        printed = "".join(lines)
        assert f"http://127.0.0.1:{port}" in printed and "teammates sign up with" in printed, printed
        assert token not in printed and "cli-test-pass-1" not in printed  # given secrets are not echoed
        runner = CliRunner(env={"LABEL_STUDIO_API_KEY": token, "COLUMNS": "200"})
        url = f"http://127.0.0.1:{port}"
        pushed = runner.invoke(app, ["annotate", "push", "-w", str(wh.path), "--limit", "10", "--url", url])
        assert pushed.exit_code == 0 and "pushed 10 pairs" in pushed.output, pushed.output
        project = query(wh, "SELECT project_id FROM annotation_batches")[0][0]
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60)
        task = admin.get("/api/tasks", params={"project": project}).json()["tasks"][0]
        admin.post(f"/api/tasks/{task['id']}/annotations", json={"result": _result(3)}).raise_for_status()
        pulled = runner.invoke(app, ["annotate", "pull", "-w", str(wh.path), "--url", url])
        assert pulled.exit_code == 0 and "1 new" in pulled.output and "partly done" in pulled.output, pulled.output
        assert (tmp_path / "wh" / "label-studio").is_dir()  # Label Studio's own data lives beside the lake
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
    assert code == 0


def test_annotate_in_the_pipeline_pushes_once_per_new_input_and_pulls_what_is_done(prefect_harness, label_studio, tmp_path):
    """`curate run` with annotate_push and annotate_pull: the first run pushes a batch; a run after an annotation
    pushes nothing new and pulls it; a third run has nothing to do and leaves no snapshot."""
    import yaml

    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", [trl(prompt=f"pipeline q{i}", chosen=f"yes {i}", rejected=f"no {i}") for i in range(8)])
    server = {"url": label_studio.url, "project": "curate pipeline test"}
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({
        "warehouse": "wh", "stages": ["ingest", "annotate_push", "annotate_pull"],
        "ingest": {"sources": [{"source": "data/*.jsonl", "detect_language": False}]},
        "annotate_push": {"label_studio": server, "routing": {"limit": 4}}, "annotate_pull": {"label_studio": server}}))
    runner = CliRunner(env={"COLUMNS": "200"})
    first = runner.invoke(app, ["run", "--config", str(config)])
    assert first.exit_code == 0, first.output
    wh = Warehouse.open(tmp_path / "wh")
    assert query(wh, "SELECT count(*) FROM annotation_tasks") == [(4,)]
    project = query(wh, "SELECT project_id FROM annotation_batches")[0][0]
    admin = httpx.Client(base_url=label_studio.url, headers={"Authorization": f"Token {label_studio.admin.token}"}, timeout=60)
    task = admin.get("/api/tasks", params={"project": project}).json()["tasks"][0]
    admin.post(f"/api/tasks/{task['id']}/annotations", json={"result": _result(1)}).raise_for_status()

    second = runner.invoke(app, ["run", "--config", str(config)])
    assert second.exit_code == 0 and "annotate_push: skipped" in second.output, second.output
    assert query(wh, "SELECT count(*) FROM annotation_tasks") == [(4,)] and query(wh, "SELECT count(*) FROM annotations") == [(1,)]
    snapshots = query(wh, "SELECT count(*) FROM lake.snapshots()")[0][0]
    third = runner.invoke(app, ["run", "--config", str(config)])
    assert third.exit_code == 0 and "nothing new" in third.output, third.output
    assert query(wh, "SELECT count(*) FROM lake.snapshots()")[0][0] == snapshots
