"""Publishing: a dry run stages exactly what the upload sends, refusals without a license or on PII, a token
that goes to the Hub and nowhere else. The Hub is unreachable here: the upload itself meets a local server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard
from release_builders import shared_releases
from typer.testing import CliRunner

from curate.publish import hub as publish
from curate.publish.card import CardConfig
from curate.cli import app
from curate.errors import ConfigError

TOKEN = "hf_" + "testTOKENabcdefghijklmnopqrstuvwxyz0123"  # built here so no token-shaped literal is committed
LICENSED = CardConfig(license="mit")


@pytest.fixture(scope="module")
def wh_planted(tmp_path_factory):
    return shared_releases(tmp_path_factory)


@pytest.fixture(scope="module")
def wh(wh_planted):
    return wh_planted[0]


@pytest.fixture(scope="module")
def dry_run(wh, tmp_path_factory):
    out = tmp_path_factory.mktemp("dry-run") / "staged"
    return publish.publish(wh, "v1", repo="org/prefs", dry_run_dir=out, cfg=LICENSED), out


def test_publish_dry_run_stages_exactly_what_the_upload_sends_and_it_loads(wh_planted, dry_run, tmp_path):
    _, planted = wh_planted
    result, out = dry_run
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    plan = publish.upload_plan(out)
    assert result.files == on_disk == sorted(op.path_in_repo for op in plan)
    assert all(isinstance(op, CommitOperationAdd) for op in plan) and result.pii_hits == 0 and result.commit_url is None
    assert {"README.md", "plots/noise_histogram.png", "plots/length_bias.png", "plots/judge_agreement.png",
            "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"} <= set(on_disk)

    card = DatasetCard.load(out / "README.md")
    assert card.data.license == "mit" and 'load_dataset("org/prefs")' in card.text
    dataset = load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    declared = [f["split"] for f in card.data.configs[0]["data_files"]]
    assert list(dataset) == declared == list(result.splits)
    assert sum(d.num_rows for d in dataset.values()) == 57  # 60 candidates, 3 dropped
    assert {"prompt", "chosen", "rejected", "margin", "pair_id", "source", "language"} <= set(dataset["train"].column_names)
    rows = {r["pair_id"]: r for split in dataset.values() for r in split}
    flipped = rows[planted["flip"][0]]
    assert flipped["rejected"][0]["content"].startswith("Here is a fact")  # exported with its label flipped
    assert not set(planted["drop"]) & set(rows)


def test_publish_upload_plan_deletes_what_an_earlier_release_left_in_the_repo(wh, dry_run):
    result, out = dry_run
    files = result.files
    existing = [".gitattributes", "README.md", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]
    plan = publish.upload_plan(out, existing)
    assert sorted(op.path_in_repo for op in plan if isinstance(op, CommitOperationAdd)) == files
    assert [op.path_in_repo for op in plan if isinstance(op, CommitOperationDelete)] == existing[2:]
    with pytest.raises(ConfigError, match="not empty"):
        publish.stage(wh, "v1", out, LICENSED)


def test_publish_refuses_without_a_license_before_staging_anything(wh, tmp_path):
    with pytest.raises(publish.PublishRefused, match="without a license") as refused:
        publish.publish(wh, "v1", repo="org/prefs", dry_run_dir=tmp_path / "staged")
    assert refused.value.exit_code == 7 and not (tmp_path / "staged").exists()


def test_publish_refuses_unacknowledged_pii_and_says_where_it_is(wh, tmp_path):
    with pytest.raises(publish.PublishRefused) as refused:
        publish.publish(wh, "leaky", repo="org/prefs", dry_run_dir=tmp_path / "a", cfg=LICENSED)
    message = str(refused.value)
    assert "3 hits" in message and "email=1" in message and "phone=1" in message and "openai_key=1" in message
    assert "chosen[].content" in message and "data/" in message and "--acknowledge-pii" in message
    assert "sk-abcdefghijklmnop" not in message and "help.desk@example.org" not in message  # redacted
    result = publish.publish(wh, "leaky", repo="org/prefs", dry_run_dir=tmp_path / "b", cfg=LICENSED, acknowledge_pii=True)
    assert result.pii_hits == 3


def test_publish_scan_finds_every_kind_with_file_row_and_column(tmp_path):
    messages = pa.array([[{"role": "user", "content": "mail me: a.b@example.com"}], [{"role": "user", "content": "fine"}]],
                        pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))
    notes = pa.array(["call +44 20 7946 0958", "token ghp_" + "a" * 36])
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"prompt": messages, "note": notes}), tmp_path / "data" / "train-00000-of-00001.parquet")
    (tmp_path / "README.md").write_text("clean line 2024-05-01, hash 0123456789abcdef, 3.14159\n"
                                        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345\n"
                                        "keys AKIAABCDEFGHIJKLMNOP and " + TOKEN + " and xoxb-1234567890-abc\n")
    hits = {(h.file, h.row, h.column, h.kind) for h in publish.scan_pii(tmp_path)}
    shard = "data/train-00000-of-00001.parquet"
    assert hits == {
        (shard, 0, "prompt[].content", "email"), (shard, 0, "note", "phone"), (shard, 1, "note", "github_token"),
        ("README.md", 1, "text", "bearer_token"), ("README.md", 2, "text", "aws_access_key"),
        ("README.md", 2, "text", "hf_token"), ("README.md", 2, "text", "slack_token"),
    }


def test_publish_sends_the_token_to_the_hub_only_and_never_writes_it(wh, tmp_path, monkeypatch):
    hub = _Hub()
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    try:
        with pytest.raises(publish.PublishFailed) as failed:
            publish.publish(wh, "v1", repo="org/prefs", cfg=LICENSED)
    finally:
        hub.close()
    assert hub.seen and hub.seen[0] == ("POST", "/api/repos/create", f"Bearer {TOKEN}")
    assert TOKEN not in str(failed.value) and "***" in str(failed.value)  # the server echoed it; the error redacts it
    for path in [*wh.path.rglob("*"), *tmp_path.rglob("*")]:
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path


def test_publish_without_hf_token_is_a_config_error(wh, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        publish.publish(wh, "v1", repo="org/prefs", cfg=LICENSED)


def test_cli_publish_dry_run_and_refusal_exit_codes(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    config = tmp_path / "curate.yaml"
    config.write_text("card:\n  license: cc-by-4.0\n")
    runner = CliRunner()
    base = ["publish", "v1", "--repo", "org/prefs", "--warehouse", str(wh.path)]
    ok = runner.invoke(app, [*base, "--dry-run", str(tmp_path / "out"), "--config", str(config)], catch_exceptions=False)
    assert ok.exit_code == 0, ok.output
    assert "README.md" in ok.output and "exactly what would be uploaded" in ok.output
    refused = runner.invoke(app, [*base, "--dry-run", str(tmp_path / "none")], catch_exceptions=False)
    assert refused.exit_code == 7 and "without a license" in refused.output


@pytest.mark.slow
def test_flows_release_outputs_stage_the_folder_and_write_the_report(wh, tmp_path, prefect_harness):
    from flows.publish import release_outputs_flow

    result = release_outputs_flow(str(wh.path), "v1", str(tmp_path / "dist"), card={"license": "mit"})
    assert result["staged"]["folder"] == str(tmp_path / "dist" / "v1") and "README.md" in result["staged"]["files"]
    assert result["staged"]["pii_hits"] == 0 and "train" in result["staged"]["splits"]
    assert (tmp_path / "dist" / "v1.html").read_text().startswith("<!DOCTYPE html>")


class _Hub:
    """A loopback stand-in for the Hub API that records each request and answers 401, echoing the header."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append((self.command, self.path.split("?")[0], self.headers.get("Authorization")))
                body = json.dumps({"error": f"invalid credentials: {self.headers.get('Authorization')}"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
