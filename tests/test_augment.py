"""The augment stage on a real warehouse: adversarial, neutral (repair, rules, llm) and causal candidates, their
pairs rows and provenance, every reason code, idempotent re-runs; LLM work against the scripted loopback server
(the embedded llama.cpp server runs it on real HH pairs in test_augment_release.py)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from judgeserver import ScriptedJudge, Shown, verdict
from typer.testing import CliRunner

from curate import augment
from curate.augment import nonanswers, rewrites
from curate.cli import app
from schemas.augment import AUGMENT_SOURCE

LIMITS = {"backoff_base_s": 0.01, "max_retries": 0}
FACTS = "Paris is the capital of France. It has been the capital for over a thousand years. The river Seine runs through it."


def _ingest(wh, tmp_path, n: int = 3, *, extra: list | None = None) -> None:
    rows = [trl(prompt=f"Tell me about city number {i}.", chosen=f"City {i}: {FACTS}", rejected=f"I do not know city {i}.")
            for i in range(n)]
    rows.append(trl(prompt="A tie question?", chosen="Yes.", rejected="Sure.", tie=True))  # a tie is never a parent
    run_ingest(wh, write_jsonl(tmp_path / "pairs.jsonl", rows + (extra or [])), include_ties=True, detect_language=False)


def _llm(server: ScriptedJudge, **judge) -> dict:
    section = {"base_url": server.base_url, "model": "scripted", "limits": LIMITS}
    return {"generator": section, "judge": {**section, "max_parse_retries": 0, **judge}}


def _augmented(wh) -> list[dict]:
    rows = query(wh, "SELECT pair_id, kind, parent_pair_id, prompt_id, chosen.content, rejected.content, tie, strength, source, "
                     "source_file, source_row, language, meta FROM pairs WHERE kind <> 'original' ORDER BY pair_id")
    keys = ("pair_id", "kind", "parent", "prompt_id", "chosen", "rejected", "tie", "strength", "source", "source_file",
            "source_row", "language", "meta")
    return [dict(zip(keys, r)) for r in rows]


def _candidates(wh, run_id: str | None = None) -> list[dict]:
    where = "WHERE run_id = ?" if run_id else ""
    rows = query(wh, f"SELECT augmentation_id, pair_id, parent_pair_id, donor_pair_id, kind, method, attribute, side, tie, "
                     f"status, reason, similarity, verdict_chosen_as_a, verdict_chosen_as_b, generator, judge, candidate "
                     f"FROM augmentations {where} ORDER BY kind, method, attribute", [run_id] if run_id else [])
    keys = ("augmentation_id", "pair_id", "parent", "donor", "kind", "method", "attribute", "side", "tie", "status", "reason",
            "similarity", "as_a", "as_b", "generator", "judge", "candidate")
    return [dict(zip(keys, r)) for r in rows]


def _assert_accounted(wh) -> None:
    """Every augmented pair has its accepted augmentations row and a parent in pairs; every rejection a reason."""
    orphans = query(wh, "SELECT count(*) FROM pairs p WHERE kind <> 'original' AND (NOT EXISTS (SELECT 1 FROM augmentations a "
                        "WHERE a.pair_id = p.pair_id AND a.status = 'accepted') OR parent_pair_id NOT IN (SELECT pair_id FROM pairs))")
    assert orphans == [(0,)]
    assert query(wh, "SELECT count(*) FROM augmentations WHERE status = 'rejected' AND reason IS NULL") == [(0,)]
    assert query(wh, "SELECT count(*) FROM augmentations WHERE status = 'accepted' AND (reason IS NOT NULL OR pair_id NOT IN "
                     "(SELECT pair_id FROM pairs))") == [(0,)]


# --- adversarial (offline) ----------------------------------------------------------------------------------


def test_augment_adversarial_pairs_a_master_key_against_the_parents_chosen(wh, tmp_path):
    _ingest(wh, tmp_path, extra=[trl(prompt="Say something.", chosen="Something real.", rejected=":")])
    result = augment.run(wh, augment.AugmentConfig(kind="adversarial", keys=[":", "Solution"], keys_per_pair=2))
    parents = {r[0]: r[1:] for r in query(wh, "SELECT pair_id, chosen.content, language FROM pairs WHERE kind = 'original' AND NOT tie")}
    assert result.rows_in == 4 and result.outcomes["candidates"] == 8
    # the parent whose rejected response already is ":" gives back its own comparison: a duplicate, not a new pair
    assert result.dropped == {"duplicate": 1} and result.rows_written == 7
    pairs = _augmented(wh)
    assert len(pairs) == 7
    for p in pairs:
        assert p["kind"] == "adversarial" and p["source"] == AUGMENT_SOURCE and p["source_file"] == "augment:adversarial:master_key"
        assert p["source_row"] is None and p["tie"] is False and p["strength"] is None
        assert (p["chosen"], p["language"]) == parents[p["parent"]] and p["rejected"] in (":", "Solution")
        meta = json.loads(p["meta"])
        assert meta["method"] == "master_key" and meta["attribute"] == p["rejected"]
    rows = _candidates(wh)
    assert {(r["method"], r["attribute"], r["status"], r["reason"]) for r in rows} >= {("master_key", ":", "rejected", "duplicate")}
    assert all(r["generator"] is None and r["judge"] is None and r["candidate"] in (":", "Solution") for r in rows)
    _assert_accounted(wh)


def test_augment_adversarial_default_keys_follow_the_parents_language(wh, tmp_path):
    run_ingest(wh, write_jsonl(tmp_path / "fr.jsonl", [trl(prompt="Quelle est la capitale ?", chosen="Paris.", rejected="Lyon.",
                                                         language="fr")]))
    augment.run(wh, augment.AugmentConfig(kind="adversarial", keys_per_pair=50))
    used = {p["rejected"] for p in _augmented(wh)}
    assert used == set(nonanswers.master_keys(["fr", "symbol"]))


# --- neutral repair and rules (offline) ---------------------------------------------------------------------


def test_augment_neutral_repair_and_rules_are_ties_under_recorded_donors(wh, tmp_path):
    _ingest(wh, tmp_path)
    result = augment.run(wh, augment.AugmentConfig(kind="neutral", neutral_modes=["repair", "rules"]))
    parents = {r[0]: r[1:] for r in query(wh, "SELECT pair_id, prompt_id, chosen.content, rejected.content FROM pairs "
                                              "WHERE kind = 'original'")}
    pairs = {p["pair_id"]: p for p in _augmented(wh)}
    rows = _candidates(wh)
    repairs = [r for r in rows if r["method"] == "repair"]
    assert len(repairs) == 3 and result.rows_written == len(pairs) == len(rows)
    for r in repairs:
        pair = pairs[r["pair_id"]]
        donor_prompt = parents[r["donor"]][0]
        assert r["attribute"] == "unrelated_prompt" and r["side"] is None and r["tie"] is True
        assert pair["prompt_id"] == donor_prompt != parents[r["parent"]][0]  # an unrelated prompt, never the parent's
        assert (pair["chosen"], pair["rejected"]) == parents[r["parent"]][1:]
        assert pair["tie"] is True and pair["strength"] == 0 and json.loads(pair["meta"])["donor_pair_id"] == r["donor"]
    rules = [r for r in rows if r["method"] == "rules"]
    assert rules and {r["attribute"] for r in rules} <= set(rewrites.NEUTRAL_RULES)
    for r in rules:
        pair = pairs[r["pair_id"]]
        assert r["side"] == "chosen" and pair["chosen"] == parents[r["parent"]][1] and pair["rejected"] == r["candidate"]
        assert pair["tie"] is True and pair["strength"] == 0 and pair["source_file"] == "augment:neutral:rules"
        assert pair["prompt_id"] == parents[r["parent"]][0]
    _assert_accounted(wh)
    again = augment.run(wh, augment.AugmentConfig(kind="neutral", neutral_modes=["repair", "rules"]))
    assert again.rows_written == 0 and again.outcomes["already_made"] == len(rows)


# --- causal (scripted writer and judge) ---------------------------------------------------------------------

_FLAW = re.compile(r"Flaw to introduce: ([a-z ]+)\.")


def _causal_script(state: dict):
    """Rewrites by the flaw asked for; the judge prefers the response without WORSE, and is fooled by SNEAKY."""

    def answer(shown: Shown):
        system = shown.body["messages"][0]["content"]
        if (flaw := _FLAW.search(system)) is not None:
            original = re.search(r'name="response">\n(.*?)\n</data-', shown.body["messages"][1]["content"], re.DOTALL).group(1)
            return {"factuality": json.dumps({"rewrite": "WORSE " + original}),
                    "relevance": json.dumps({"rewrite": "SNEAKY " + original}),
                    "completeness": 400 if state["fail"] else json.dumps({"rewrite": "WORSE, shorter."}),
                    "instruction following": "I would rather not answer in JSON.",
                    "safety": json.dumps({"rewrite": original})}[flaw.group(1)]
        if shown.a.startswith("SNEAKY") or shown.b.startswith("WORSE"):
            return verdict("A")
        return verdict("B")

    return answer


def test_augment_causal_keeps_what_the_judge_finds_worse_in_both_orders(wh, tmp_path):
    _ingest(wh, tmp_path, n=1)
    state = {"fail": True}
    with ScriptedJudge(_causal_script(state)) as server:
        cfg = augment.AugmentConfig(kind="causal", **_llm(server))
        first = augment.run(wh, cfg)
        assert server.count == 5 + 2 * 2  # five rewrites; checks for the two readable, changed ones
        rows = {r["attribute"]: r for r in _candidates(wh)}
        assert {a: (r["status"], r["reason"]) for a, r in rows.items()} == {
            "factuality": ("accepted", None), "relevance": ("rejected", "judge_disagrees"),
            "completeness": ("rejected", "request_failed"), "instruction_following": ("rejected", "unparseable"),
            "safety": ("rejected", "unchanged")}
        assert (rows["factuality"]["as_a"], rows["factuality"]["as_b"]) == ("chosen", "chosen")
        assert (rows["relevance"]["as_a"], rows["relevance"]["as_b"]) == ("rejected", "rejected")
        assert rows["factuality"]["generator"] == rows["factuality"]["judge"] == "localhost/v1/scripted"
        assert rows["instruction_following"]["candidate"] is None and rows["relevance"]["candidate"].startswith("SNEAKY")
        assert first.rows_written == 1 and first.error_count == 1
        assert first.details["llm"]["generator"]["requests_sent"] == 5 and first.details["llm"]["judge"]["judgments"] == 4
        pair = _augmented(wh)[0]
        parent_chosen = query(wh, "SELECT chosen.content FROM pairs WHERE pair_id = ?", [pair["parent"]])[0][0]
        assert pair["kind"] == "causal" and pair["chosen"] == parent_chosen and pair["rejected"] == "WORSE " + parent_chosen
        assert json.loads(pair["meta"])["attribute"] == "factuality" and pair["source_file"] == "augment:causal:llm"
        assert query(wh, "SELECT DISTINCT template FROM judgments") == [("augment-check/pairwise",)]

        state["fail"] = False  # the failed rewrite is tried again; everything final is skipped
        second = augment.run(wh, cfg)
        assert server.count == 9 + 1 + 2 and second.rows_written == 1 and second.outcomes["already_made"] == 4
        third = augment.run(wh, cfg)  # nothing left: nothing sent, no pair, no candidate row
        assert server.count == 12 and third.rows_written == 0 and third.outcomes["candidates"] == 0
    assert _candidates(wh, third.run_id) == []
    assert query(wh, "SELECT status FROM augmentations WHERE attribute = 'completeness' ORDER BY created_at") == [
        ("rejected",), ("accepted",)]
    assert query(wh, "SELECT attribute, status, reason, candidates, pairs FROM augmentation_summary WHERE attribute = 'completeness'") == [
        ("completeness", "accepted", None, 1, 1)]
    _assert_accounted(wh)


def test_augment_check_stopped_by_a_limit_is_not_checked_then_finished_from_the_judged_order(wh, tmp_path):
    _ingest(wh, tmp_path, n=1)
    with ScriptedJudge(_causal_script({"fail": False})) as server:
        llm = _llm(server, limits={**LIMITS, "max_requests": 1})
        first = augment.run(wh, augment.AugmentConfig(kind="causal", attributes=["factuality"], **llm))
        assert first.dropped == {"not_checked": 1} and server.count == 2
        done = augment.run(wh, augment.AugmentConfig(kind="causal", attributes=["factuality"], **_llm(server)))
        assert server.count == 3  # the rewrite from the cache, the judged order read back: one order sent
    assert done.rows_written == 1 and _candidates(wh, done.run_id)[0]["as_a"] == "chosen"


def test_augment_causal_rules_need_no_llm(wh, tmp_path):
    _ingest(wh, tmp_path, n=2)
    result = augment.run(wh, augment.AugmentConfig(kind="causal", method="rules", generator={"base_url": "http://127.0.0.1:9/v1",
                                                                                              "model": "unreachable"}))
    rows = _candidates(wh)
    assert result.rows_written == 2 and {(r["method"], r["attribute"], r["status"]) for r in rows} == {("rules", "completeness", "accepted")}
    assert all(r["generator"] is None for r in rows)


# --- neutral llm (scripted writer and judge) ----------------------------------------------------------------

_STYLE = re.compile(r"Style change: ([a-z]+)\.")


def test_augment_neutral_llm_rewrites_are_kept_only_close_and_tied(wh, tmp_path):
    _ingest(wh, tmp_path, n=1)
    close = "City 0: Paris is the capital of France, and it has been for more than a thousand years. The Seine runs through it."

    def answer(shown: Shown):
        if (style := _STYLE.search(shown.body["messages"][0]["content"])) is not None:
            return json.dumps({"rewrite": {"length": "Bananas are yellow and rich in potassium.", "formatting": "- " + close,
                                           "tone": close}[style.group(1)]})
        return verdict("A") if shown.a.startswith("- ") or shown.b.startswith("- ") else verdict("tie")

    with ScriptedJudge(answer) as server:
        result = augment.run(wh, augment.AugmentConfig(kind="neutral", neutral_modes=["llm"], **_llm(server)))
        assert server.count == 3 + 2 * 2  # the drifted rewrite is never judged
    rows = {r["attribute"]: r for r in _candidates(wh)}
    assert (rows["length"]["status"], rows["length"]["reason"]) == ("rejected", "low_similarity")
    assert rows["length"]["similarity"] < 0.85 <= rows["tone"]["similarity"] and rows["length"]["as_a"] is None
    assert (rows["formatting"]["reason"], rows["formatting"]["as_a"], rows["formatting"]["as_b"]) == ("not_a_tie", "chosen", "rejected")
    assert (rows["tone"]["status"], rows["tone"]["as_a"], rows["tone"]["as_b"]) == ("accepted", "tie", "tie")
    assert result.rows_written == 1 and all(r["side"] == "chosen" for r in rows.values())
    pair = _augmented(wh)[0]
    assert pair["tie"] is True and pair["strength"] == 0 and pair["rejected"] == close and pair["source_file"] == "augment:neutral:llm"
    _assert_accounted(wh)


# --- config and CLI -----------------------------------------------------------------------------------------


def test_augment_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown causal attribute"):
        augment.AugmentConfig(kind="causal", attributes=["humor"])
    with pytest.raises(ValueError, match="unknown master key"):
        augment.AugmentConfig(kind="adversarial", keys=["not a key"])


def test_augment_cli_prints_the_run_and_stats_count_by_kind_and_attribute(wh, tmp_path):
    _ingest(wh, tmp_path, n=2)
    runner = CliRunner()
    done = runner.invoke(app, ["augment", "-w", str(wh.path), "--kind", "adversarial"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "augment run=" in done.output and "master_key" in done.output and "plumbing default" not in done.output
    bad = runner.invoke(app, ["augment", "-w", str(wh.path), "--kind", "causal", "--attribute", "humor"])
    assert bad.exit_code == 2 and "unknown causal attribute" in bad.output
    stats = runner.invoke(app, ["stats", "-w", str(wh.path)], catch_exceptions=False, env={"COLUMNS": "200"})
    section = stats.output.split("augmentations: candidates and pairs")[1]
    assert re.search(r"adversarial\s*│\s*master_key", section)
