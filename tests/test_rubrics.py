"""The rubrics stage: reading the writer's answer, the consistency filter, the attempt loop, its evidence rows.

Exact behaviour is checked against a scripted OpenAI-compatible server over real HTTP: it answers the writer
with a rubric the test chooses and, as the judge, prefers the response the test says (the rejected one when
the rubric says CONTRADICT). The embedded llama.cpp server runs it on real HH
pairs in test_augment_release.py.
"""

from __future__ import annotations

import json

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from judgeserver import ScriptedJudge, Shown, verdict
from typer.testing import CliRunner

from curate import judge, rubrics
from curate.cli import app
from curate.judge.config import GeneratorConfig, JudgeConfig
from curate.rubrics import generate
from curate.rubrics.consistency import Check, decide
from schemas.vocab import RubricItemType, RubricReason, RubricStatus

GOOD = '{"hard_rules": ["Answer the question asked."], "principles": ["Be correct.", "Be brief."]}'
LIMITS = {"backoff_base_s": 0.01, "max_retries": 0}


def pairs_file(tmp_path, rows=None):
    rows = rows or [trl(prompt="What is 2+2?", chosen="good: 4", rejected="bad: 5"),
                    trl(prompt="What is 2+2?", chosen="good: four", rejected="bad: 22"),
                    trl(prompt="Capital of France?", chosen="good: Paris", rejected="bad: Lyon")]
    return write_jsonl(tmp_path / "pairs.jsonl", rows)


def writing(request: dict) -> bool:
    return "grading rubrics" in request["messages"][0]["content"]


def script(rubric):
    """The writer answers ``rubric(body)`` (a string, or a callable of the request body); the judge prefers the
    response starting 'good', or the other one when the rubric in its prompt says CONTRADICT."""
    def answer(shown: Shown) -> str:
        body = shown.body
        if writing(body):
            return rubric(body) if callable(rubric) else rubric
        good = "A" if shown.a.startswith("good") else "B"
        if "CONTRADICT" in body["messages"][1]["content"]:
            good = "B" if good == "A" else "A"
        return verdict(good)
    return answer


def per_prompt(body: dict) -> str:
    """GOOD, with a hard rule naming the prompt: the rubrics of one prompt are one text, of two prompts two."""
    topic = "arithmetic" if "2+2" in body["messages"][1]["content"] else "geography"
    return GOOD.replace("Answer the question asked.", f"Answer the {topic} question asked.")


def config(server: ScriptedJudge, judge_limits: dict | None = None, **options) -> rubrics.RubricsConfig:
    endpoint = {"base_url": server.base_url, "model": "scripted", "limits": LIMITS}
    return rubrics.RubricsConfig(generator=GeneratorConfig(**endpoint),
                                 judge=JudgeConfig(**{**endpoint, "limits": {**LIMITS, **(judge_limits or {})}}), **options)


def rubric_rows(wh, columns="pair_id, attempt, status, reason, final"):
    return query(wh, f"SELECT {columns} FROM rubrics ORDER BY pair_id, attempt")


# --- reading the writer's answer -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    (GOOD, [("hard_rule", "Answer the question asked."), ("principle", "Be correct."), ("principle", "Be brief.")]),
    ('Here it is:\n```json\n{"Hard Rules": [{"rule": "1. Use metric units"}], "principles": "Cite a source"}\n```',
     [("hard_rule", "Use metric units"), ("principle", "Cite a source")]),
    ('{"hard_rules": [], "principles": ["- Be kind", "be kind", "Explain why"', [("principle", "Be kind"), ("principle", "Explain why")]),
    ('{"hard_rules": [], "principles": []}', []),
])
def test_rubrics_parse_reads_json_wrapped_typed_and_cut_off_answers(text, expected):
    assert [(i.type.value, i.text) for i in generate.parse(text)] == expected


@pytest.mark.parametrize("text", [None, "", "I cannot write a rubric.", '{"score": 3}', "[1, 2]"])
def test_rubrics_parse_finds_no_rubric_in_other_answers(text):
    assert generate.parse(text) is None


def test_rubrics_render_numbers_hard_rules_then_principles():
    items = generate.parse(GOOD)
    assert generate.render(items) == ("Hard rules (pass/fail):\n1. Answer the question asked.\n"
                                      "Principles:\n2. Be correct.\n3. Be brief.")
    assert generate.render([i for i in items if i.type == RubricItemType.PRINCIPLE]).startswith("Principles:\n1. ")


# --- the consistency filter ----------------------------------------------------------------------------

def check(pair_id, a, b, current=False):
    return Check(pair_id=pair_id, current=current, verdict_chosen_as_a=a, verdict_chosen_as_b=b)


def test_rubrics_consistency_accepts_a_rubric_reproducing_enough_labels():
    decision = decide([check("p1", "chosen", "chosen", current=True), check("p2", "chosen", "rejected")], min_accuracy=0.5)
    assert (decision.status, decision.reason, decision.accuracy, decision.pairs_checked, decision.current_correct) == (
        RubricStatus.ACCEPTED, None, 0.5, 2, True)


def test_rubrics_consistency_rejects_current_pair_wrong_even_when_accurate_elsewhere():
    checks = [check("p1", "chosen", "tie", current=True), check("p2", "chosen", "chosen"), check("p3", "chosen", "chosen")]
    decision = decide(checks, min_accuracy=0.5)
    assert (decision.status, decision.reason, decision.current_correct) == (RubricStatus.REJECTED, RubricReason.CURRENT_PAIR_WRONG, False)
    assert decision.accuracy == pytest.approx(2 / 3)


def test_rubrics_consistency_rejects_low_accuracy():
    checks = [check("p1", "chosen", "chosen", current=True), check("p2", "rejected", "rejected"), check("p3", None, "chosen")]
    decision = decide(checks, min_accuracy=0.5)
    assert (decision.reason, decision.accuracy, decision.correct) == (RubricReason.LOW_ACCURACY, pytest.approx(1 / 3), 1)


def test_rubrics_consistency_not_checked_without_the_current_pair():
    decision = decide([check("p2", "chosen", "chosen")], min_accuracy=0.0)
    assert (decision.status, decision.reason, decision.accuracy) == (RubricStatus.REJECTED, RubricReason.NOT_CHECKED, None)


# --- the stage against the scripted server -------------------------------------------------------------

def test_rubrics_accepts_a_rubric_that_reproduces_the_labels_and_records_its_evidence(wh, tmp_path):
    run_ingest(wh, pairs_file(tmp_path), detect_language=False)
    with ScriptedJudge(script(per_prompt)) as server:
        result = rubrics.run(wh, config(server))
        # 3 rubrics, checked on their prompt's pairs in both orders; the two of one prompt are the same text (one judge
        # version), so its pairs are judged once
        assert server.count == 3 + (2 * 2 + 1 * 2)
        writer = next(r for r in server.requests if writing(r))
        assert "This is attempt" not in writer["messages"][1]["content"] and writer["seed"] == 0
        assert result.outcomes == {"accepted": 3, "rejected": 0, "already_done": 0, "unfinished": 0}
        assert result.details["generation"]["requests_sent"] == 3 and result.details["checks"]["requests_sent"] == 6
        rows = query(wh, "SELECT attempt, status, reason, final, accuracy, pairs_checked, current_correct, generator, template_hash, "
                         "request_hash, judge_template_hash, len(source_pair_ids), source_pair_ids[1] = pair_id, items[1].type, text "
                         "FROM rubrics ORDER BY pair_id")
        assert {r[:7] for r in rows} == {(1, "accepted", None, True, 1.0, 2, True), (1, "accepted", None, True, 1.0, 1, True)}
        assert all(r[7] == "localhost/v1/scripted" and r[8] == generate.template_hash() and r[9] and r[10] and r[12] for r in rows)
        assert sorted(r[11] for r in rows) == [1, 2, 2] and {r[13] for r in rows} == {"hard_rule"}
        assert rows[0][14].endswith(" question asked.\nPrinciples:\n2. Be correct.\n3. Be brief.")
        assert query(wh, "SELECT count(*), count(*) FILTER (correct AND verdict = 'chosen'), count(*) FILTER (current) "
                         "FROM rubric_checks") == [(5, 5, 3)]
        # (d) the checks are judgments under template 'rubric': a judge version of their own in the noise evidence
        assert query(wh, "SELECT template, count(*), count(DISTINCT template_hash) FROM judgments GROUP BY 1") == [("rubric", 6, 2)]
        assert query(wh, "SELECT count(*), count(*) FILTER (consistent AND verdict = 'chosen') FROM judge_pair_verdicts "
                         "WHERE template = 'rubric'") == [(3, 3)]
        assert query(wh, "SELECT judge_template_hash FROM rubrics EXCEPT SELECT template_hash FROM judgments") == []
        # (e) a re-run finds every pair decided: nothing is sent
        again = rubrics.run(wh, config(server))
        assert server.count == 9 and again.outcomes["already_done"] == 3 and again.rows_written == 0
        assert query(wh, "SELECT count(*) FROM rubrics") == [(3,)]


def test_rubrics_rejects_a_rubric_contradicting_the_label_on_every_try(wh, tmp_path):
    run_ingest(wh, pairs_file(tmp_path, [trl(prompt="Capital of France?", chosen="good: Paris", rejected="bad: Lyon")]),
               detect_language=False)
    with ScriptedJudge(script(lambda body: json.dumps({"hard_rules": [], "principles": [f"CONTRADICT {body['seed']}"]}))) as server:
        result = rubrics.run(wh, config(server, max_tries=3))
        writers = [r for r in server.requests if writing(r)]
    assert [w["seed"] for w in writers] == [0, 1, 2]
    assert "This is attempt 3" in writers[2]["messages"][1]["content"] and "current_pair_wrong" in writers[2]["messages"][1]["content"]
    assert rubric_rows(wh) == [(rubric_rows(wh)[0][0], n, "rejected", "current_pair_wrong", n == 3) for n in (1, 2, 3)]
    assert query(wh, "SELECT DISTINCT verdict_chosen_as_a, verdict_chosen_as_b, correct FROM rubric_checks") == [("rejected", "rejected", False)]
    assert result.dropped == {"current_pair_wrong": 1} and result.details["attempts"] == 3
    # the fused noise evidence sees each contradicting rubric's judge vote against the label
    assert query(wh, "SELECT count(*) FROM judge_pair_verdicts WHERE template = 'rubric' AND verdict = 'rejected'") == [(3,)]


def test_rubrics_unreadable_answers_are_rejected_attempts_with_a_reason(wh, tmp_path):
    run_ingest(wh, pairs_file(tmp_path), detect_language=False)
    answers = {"What is 2+2?": "Sorry, I cannot help.", "Capital of France?": '{"hard_rules": [], "principles": []}'}

    def rubric(body):
        return next(text for prompt, text in answers.items() if prompt in body["messages"][1]["content"])

    with ScriptedJudge(script(rubric)) as server:
        result = rubrics.run(wh, config(server, max_tries=2))
        assert server.count == 6  # two tries per pair, no check: nothing readable to judge
        retry = [r for r in server.requests if r["seed"] == 1][0]["messages"][1]["content"]
    assert "This is attempt 2" in retry and "held no readable rubric" in retry
    rows = query(wh, "SELECT reason, final, items IS NULL, text IS NULL, judge_template_hash IS NULL, request_hash IS NOT NULL, "
                     "generator IS NOT NULL, template_hash IS NOT NULL, len(source_pair_ids) FROM rubrics ORDER BY pair_id, attempt")
    assert sorted(r[:2] for r in rows) == [("no_items", False), ("no_items", True), ("unparseable", False), ("unparseable", False),
                                           ("unparseable", True), ("unparseable", True)]
    assert all(r[3] and r[4] and r[5] and r[6] and r[7] for r in rows)
    assert {r[2] for r in rows if r[0] == "unparseable"} == {True} and {r[2] for r in rows if r[0] == "no_items"} == {False}
    assert result.dropped == {"unparseable": 2, "no_items": 1} and result.error_count == 6
    assert query(wh, "SELECT count(*) FROM rubric_checks UNION ALL SELECT count(*) FROM judgments") == [(0,), (0,)]


def test_rubrics_a_failed_generation_is_a_rejected_attempt(wh, tmp_path):
    run_ingest(wh, pairs_file(tmp_path, [trl(prompt="Capital of France?", chosen="good: Paris", rejected="bad: Lyon")]),
               detect_language=False)
    with ScriptedJudge(script(lambda body: 500)) as server:
        result = rubrics.run(wh, config(server, max_tries=1))
    assert rubric_rows(wh, "status, reason, final, request_hash IS NOT NULL") == [("rejected", "request_failed", True, True)]
    assert result.error_count == 1 and result.details["generation"]["requests_failed"] == 1


def test_rubrics_a_pair_a_limit_left_unchecked_is_taken_up_by_the_next_run(wh, tmp_path):
    run_ingest(wh, pairs_file(tmp_path, [trl(prompt="Capital of France?", chosen="good: Paris", rejected="bad: Lyon")]),
               detect_language=False)
    with ScriptedJudge(script(lambda body: GOOD.replace("brief", f"brief {body['seed']}"))) as server:
        cut = rubrics.run(wh, config(server, judge_limits={"max_requests": 1}))
        assert server.count == 2  # the rubric, and one of its two orders: the cap stops the other
        assert cut.details["stopped_by"] == "max_requests" and cut.outcomes["unfinished"] == 1
        assert rubric_rows(wh, "attempt, reason, final") == [(1, "not_checked", False)]
        done = rubrics.run(wh, config(server))
    assert rubric_rows(wh, "attempt, status, final") == [(1, "rejected", False), (2, "accepted", True)]
    assert done.outcomes["accepted"] == 1 and server.requests[2]["seed"] == 1


def test_rubrics_judge_with_rubrics_reuses_the_checks_and_skips_pairs_without_one(wh, tmp_path):
    run_ingest(wh, pairs_file(tmp_path), detect_language=False)
    with ScriptedJudge(script(per_prompt)) as server:
        cfg = config(server)
        rubrics.run(wh, cfg)
        run_ingest(wh, write_jsonl(tmp_path / "more.jsonl", [trl(prompt="Largest planet?", chosen="good: Jupiter", rejected="bad: Mars")]),
                   detect_language=False)
        sent = server.count
        judged = judge.run(wh, cfg.judge.model_copy(update={"rubrics": True}))
        assert server.count == sent  # every pair with a rubric was judged by its checks; the new prompt has none
    assert judged.details["pairs"] == 3 and judged.details["already_judged"] == 6 and judged.rows_written == 0


def test_rubrics_config_refuses_a_rubric_for_the_checks():
    with pytest.raises(ValueError, match="do not apply"):
        rubrics.RubricsConfig(judge={"rubrics": True})
    with pytest.raises(ValueError, match="exclude each other"):
        JudgeConfig(rubric="r.md", rubrics=True)


def test_rubrics_cli_prints_the_outcomes_by_reason(wh, tmp_path, monkeypatch):
    run_ingest(wh, pairs_file(tmp_path, [trl(prompt="Capital of France?", chosen="good: Paris", rejected="bad: Lyon")]),
               detect_language=False)
    monkeypatch.setenv("COLUMNS", "200")
    with ScriptedJudge(script("no rubric here")) as server:
        cfg = tmp_path / "run.yaml"
        cfg.write_text(f"rubrics:\n  judge: {{base_url: {server.base_url}, model: scripted}}\n")
        result = CliRunner().invoke(app, ["rubrics", "--warehouse", str(wh.path), "--base-url", server.base_url, "--model", "scripted",
                                          "--max-tries", "1", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "unparseable" in result.output and "0 accepted" in result.output
    stats = CliRunner().invoke(app, ["stats", "--warehouse", str(wh.path)])
    assert "rubrics" in stats.output
