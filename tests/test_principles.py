"""The principles stage: reading binary principles out of feedback text, and keeping only the grounded ones.

The decisions are checked on the pure reader; the stage runs against a scripted OpenAI-compatible server over
real HTTP that answers the extractor with principles the test chooses.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from judgeserver import ScriptedJudge

from curate import rubrics
from curate.judge.config import GeneratorConfig
from curate.rubrics.principles import extract
from schemas import ANNOTATIONS
from schemas.vocab import PrincipleReason, PrincipleStatus

FEEDBACK = "The first answer is correct and  Cites the   source; the second one rambles."


def principle(text="Does the response cite a source?", chosen="yes", rejected="no", evidence="cites the source"):
    return {"principle": text, "chosen": chosen, "rejected": rejected, "evidence": evidence}


def decided(*entries, wrap=True):
    answer = json.dumps({"principles": list(entries)} if wrap else list(entries))
    return [(e.status, e.reason) for e in extract(answer, FEEDBACK)]


def test_principles_keep_a_grounded_contrasting_principle_with_its_verbatim_evidence():
    (kept,) = extract(json.dumps([principle(evidence="CITES the source")]), FEEDBACK)
    assert (kept.status, kept.reason, kept.chosen, kept.rejected) == (PrincipleStatus.KEPT, None, True, False)
    assert kept.evidence == "CITES the source"  # matched with case and whitespace folded, stored as written


def test_principles_drop_span_not_found():
    assert decided(principle(evidence="quotes a peer-reviewed study")) == [(PrincipleStatus.DROPPED, PrincipleReason.SPAN_NOT_FOUND)]
    assert decided(principle(evidence="")) == [(PrincipleStatus.DROPPED, PrincipleReason.SPAN_NOT_FOUND)]


@pytest.mark.parametrize("entry", [principle(chosen="maybe"), principle(rejected=None), principle(text="How long is the response?")])
def test_principles_drop_not_binary(entry):
    assert decided(entry, wrap=False) == [(PrincipleStatus.DROPPED, PrincipleReason.NOT_BINARY)]


def test_principles_drop_no_contrast_and_unparseable():
    assert decided(principle(chosen="yes", rejected="yes")) == [(PrincipleStatus.DROPPED, PrincipleReason.NO_CONTRAST)]
    assert decided({"evidence": "rambles"}) == [(PrincipleStatus.DROPPED, PrincipleReason.UNPARSEABLE)]
    assert [(e.status, e.reason) for e in extract("no principles here, sorry", FEEDBACK)] == [
        (PrincipleStatus.DROPPED, PrincipleReason.UNPARSEABLE)]


def test_principles_stage_reads_justifications_and_annotator_reasons(wh, tmp_path):
    run_ingest(wh, write_jsonl(tmp_path / "pairs.jsonl", [
        trl(prompt="Who wrote Hamlet?", chosen="Shakespeare, per the Folio.", rejected="Marlowe, I think, maybe.", justification=FEEDBACK),
        trl(prompt="What is 2+2?", chosen="4", rejected="5")]), detect_language=False)
    (pair_id,) = query(wh, "SELECT pair_id FROM pairs WHERE prompt[1].content = 'What is 2+2?'")[0]
    now = datetime.now(timezone.utc)
    with wh.transaction("annotate-pull-t", "planted annotation") as tx:
        tx.append(ANNOTATIONS, [{"pair_id": pair_id, "annotator": "ann@x", "verdict": "chosen", "strength": 2, "reason": "Only 4 is right.",
                                 "lead_time": 3.0, "batch_id": None, "origin": "test", "annotation_id": "a1", "version": 1,
                                 "content_hash": "h", "annotated_at": now, "run_id": "annotate-pull-t", "created_at": now}])

    def answer(shown):
        text = shown.body["messages"][1]["content"]
        if "Only 4 is right." in text:
            return json.dumps({"principles": [principle("Is the answer right?", evidence="only 4 is RIGHT")]})
        return json.dumps({"principles": [principle(), principle("Is it concise?", evidence="it is short")]})

    with ScriptedJudge(answer) as server:
        cfg = rubrics.PrinciplesConfig(generator=GeneratorConfig(base_url=server.base_url, model="scripted"))
        result = rubrics.run_principles(wh, cfg)
        assert server.count == 2
        again = rubrics.run_principles(wh, cfg)
        assert server.count == 2 and again.rows_written == 0 and again.outcomes["already_asked"] == 2
    assert result.outcomes == {"kept": 2, "dropped": 1, "already_asked": 0} and result.dropped == {"span_not_found": 1}
    rows = query(wh, "SELECT feedback_source, principle, status, reason, evidence, generator IS NOT NULL, request_hash IS NOT NULL "
                     "FROM principles ORDER BY feedback_source, principle")
    assert rows == [("annotation:ann@x", "Is the answer right?", "kept", None, "only 4 is RIGHT", True, True),
                    ("justification", "Does the response cite a source?", "kept", None, "cites the source", True, True),
                    ("justification", "Is it concise?", "dropped", "span_not_found", "it is short", True, True)]
    assert query(wh, "SELECT feedback_source, status, reason, principles, pairs FROM principles_summary") == [
        ("annotation", "kept", None, 1, 1), ("justification", "dropped", "span_not_found", 1, 1), ("justification", "kept", None, 1, 1)]
