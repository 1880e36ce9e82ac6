"""The master-keys probe: real responses against non-answers, both orders, false-positive rates."""

from __future__ import annotations

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from judgeserver import ScriptedJudge, Shown, verdict
from typer.testing import CliRunner

from curate import judge
from curate.judge import probe
from curate.cli import app
from curate.errors import ConfigError

KEYS = [":", "Thought process:", "Solution"]


def _foolable(shown: Shown) -> str:
    """Prefers ':' wherever it is, always answers A when 'Thought process:' is shown, else picks the real answer."""
    if ":" in (shown.a, shown.b):
        return verdict("A" if shown.a == ":" else "B")
    if "Thought process:" in (shown.a, shown.b):
        return verdict("A")
    return verdict("B" if shown.a == "Solution" else "A")


@pytest.fixture
def two_pairs(wh, tmp_path):
    rows = [trl(prompt="What is 2+2?", chosen="4.", rejected="5."), trl(prompt="Capital of Peru?", chosen="Lima.", rejected="Quito."),
            trl(prompt="Tie?", chosen="x", rejected="y", tie=True)]
    run_ingest(wh, write_jsonl(tmp_path / "p.jsonl", rows), detect_language=False)
    return wh


def test_probe_reports_false_positive_rates_per_key_and_overall(two_pairs):
    wh = two_pairs
    with ScriptedJudge(_foolable) as server:
        cfg = judge.JudgeConfig(base_url=server.base_url, model="scripted", probe_keys=KEYS, limit=5)
        report = probe.run(wh, cfg)
        assert server.count == 2 * 3 * 2  # tie-labelled pairs are not probed: 2 responses x 3 keys x 2 orders
        again = probe.run(wh, cfg)
        assert server.count == 12 and again.result.rows_written == 0  # the probe skips what it already judged
    rates = {r["key"]: (r["probes"], r["fp_any"], r["fp_both"]) for r in report.rates}
    assert rates == {":": (2, 1.0, 1.0), "Thought process:": (2, 1.0, 0.0), "Solution": (2, 0.0, 0.0),
                     "*": (6, pytest.approx(4 / 6), pytest.approx(2 / 6))}
    assert {r["key"]: r["fp_any"] for r in again.rates} == {r["key"]: r["fp_any"] for r in report.rates}
    assert query(wh, "SELECT count(*), count(DISTINCT pair_id), min(template) FROM judgments") == [(12, 6, "probe-master-keys/pairwise")]
    assert query(wh, "SELECT count(*) FROM judgments WHERE pair_id IN (SELECT pair_id FROM pairs)") == [(0,)]
    assert query(wh, "SELECT count(*) FROM judge_rows") == [(0,)] and query(wh, "SELECT count(*) FROM judge_quality") == [(0,)]
    summary = query(wh, "SELECT probes, keys, fp_any, fp_both, worst_key FROM judge_probe_summary")
    assert summary == [(6, 3, 0.6667, 0.3333, ":")]
    with pytest.raises(ConfigError, match="unknown master key"):
        probe.run(wh, judge.JudgeConfig(base_url="http://127.0.0.1:9/v1", model="m", probe_keys=["nope"]))


def test_probe_cli_prints_the_false_positive_rates(two_pairs, tmp_path, monkeypatch):
    """The CLI path of the probe (config file, options, the printed table and rate) against the scripted judge;
    the real llama.cpp server runs the judge CLI end to end in test_judge.py."""
    monkeypatch.setenv("COLUMNS", "200")
    config = tmp_path / "judge.yaml"
    config.write_text('judge:\n  probe_keys: [":", "Thought process:"]\n  max_tokens: 32\n')
    with ScriptedJudge(_foolable) as server:
        args = ["judge", "--probe", "master-keys", "--limit", "1", "-w", str(two_pairs.path), "--config", str(config),
                "--base-url", server.base_url, "--model", "scripted", "--concurrency", "1"]
        result = CliRunner().invoke(app, args, catch_exceptions=False)
        assert server.count == 4  # one pair's real response x 2 keys x 2 orders
    assert result.exit_code == 0, result.output
    assert "false-positive rate:" in result.output and "master-keys probe" in result.output
    assert "requests sent 4" in result.output
    # ':' fools both orders, 'Thought process:' only the order it is shown as A
    assert "100.0% of probes preferred a non-answer in at least one order, 50.0% in both orders (2 probes)" in result.output
    assert {body["max_tokens"] for body in server.requests} == {32}  # the config file's setting reached the requests
    assert query(two_pairs, "SELECT count(*) FROM judgments WHERE probe_key IS NOT NULL") == [(4,)]
