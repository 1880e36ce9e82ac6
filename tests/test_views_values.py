"""The ingest, pairs, conflict, embedding and probe views against numbers worked out by hand.

One small warehouse for the whole module: three real ingests (a JSONL file, a CSV file, the JSONL file read
again) and rows planted with ``Warehouse.transaction`` for what an expensive stage would write (a pair whose
language was detected, embeddings, probe judgments). No LLM, no embedding model, no language detector.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate.stage import StageResult
from curate.warehouse import Warehouse
from schemas import EMBEDDINGS, JUDGMENTS, PAIRS, RAW_ROWS

# a.jsonl (source "a"), ten rows. Pairs, with chosen/rejected lengths in characters:
#   P1 q1 "aaaa"/"b" (4/1, strength 2, alice)   P2 q1 "cc"/"dddddd" (2/6, strength 1)
#   P3 q3 tie "equal"/"evenly" (5/6)            P4 three-turn prompt, "yes"/"nah" (3/3, German)
MULTI_TURN = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
              {"role": "user", "content": "q4"}]
A_ROWS = [
    trl(prompt="q1", chosen="aaaa", rejected="b", strength=2, language="en", annotator="alice"),  # 0 accepted P1
    trl(prompt="q1", chosen="cc", rejected="dddddd", strength=1, language="en"),  # 1 accepted P2
    trl(prompt="q3", chosen="equal", rejected="evenly", tie=True, language="en"),  # 2 accepted P3 (a tie)
    trl(prompt=MULTI_TURN, chosen=[{"role": "assistant", "content": "yes"}], rejected="nah", language="de"),  # 3 P4
    trl(prompt="q1", chosen="aaaa", rejected="b", strength=2, language="en", annotator="alice"),  # 4 duplicate of P1
    trl(prompt="q1", chosen="aaaa", rejected="b", tie=True, language="en"),  # 5 conflict: a tie against P1
    '{"prompt": "q9", "chosen": ',  # 6 malformed_json
    trl(prompt="q7", chosen="x", rejected="x"),  # 7 identical_responses
    trl(prompt="q8", chosen="   ", rejected="y"),  # 8 empty_content
    trl(prompt="q7", chosen="same", rejected="same "),  # 9 identical_responses (equal once trimmed)
]
# b.csv (source "b"), six rows: P1 reversed by bob and by carol, a preference against the tie P3,
# P2 again with its label, one new French pair P5 by dave, one row with a missing cell.
B_HEADER = ["prompt", "chosen", "rejected", "language", "annotator"]
B_ROWS = [
    ["q1", "b", "aaaa", "en", "bob"],  # 0 conflict reversed P1
    ["q1", "b", "aaaa", "en", "carol"],  # 1 conflict reversed P1
    ["q3", "equal", "evenly", "en", ""],  # 2 conflict preference P3
    ["q1", "cc", "dddddd", "en", ""],  # 3 duplicate P2
    ["q8", "fine, thanks", "no", "fr", "dave"],  # 4 accepted P5 (12/2 chars)
    ["q9", "only"],  # 5 malformed_csv
]
# planted: source "c", one tie whose language was detected (P6, 7/1 chars)
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
PROBE = "probe-master-keys/pairwise"
PROBE_HASH = "0123456789abcdef"
JUDGE = "localhost/smol"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _judgment(pair_id: str, key: str, swapped: bool, status: str = "ok", verdict: str | None = None, *,
              sample: int = 0, attribute: str = "overall", run_id: str = "judge-plant-1", minutes: int = 0,
              template: str = PROBE) -> dict:
    return {"pair_id": pair_id, "judge": JUDGE, "template": template, "template_hash": PROBE_HASH,
            "attribute": attribute, "swapped": swapped, "sample": sample, "verdict": verdict if status == "ok" else None,
            "status": status, "probe_key": key if template == PROBE else None, "run_id": run_id,
            "judged_at": T0 + timedelta(minutes=minutes)}


# Probe judgments. Key ":" (overall): X1 key wins both orders; X2 wins one; X3 one ok order, one failed;
# X4 both failed (not a probe). Key "Thought process:" (overall): Y1 a re-judge (later run) turns a win into a
# loss; Y2 a later failed re-judge does not hide the ok win; Y3 two samples, one of them a win.
# Key ":" (harmlessness): Z1 wins both orders. A non-probe judgment of the same judge is left out.
PROBE_ROWS = [
    _judgment("X1", ":", False, verdict="rejected"), _judgment("X1", ":", True, verdict="rejected"),
    _judgment("X2", ":", False, verdict="chosen"), _judgment("X2", ":", True, verdict="rejected"),
    _judgment("X3", ":", False, verdict="chosen"), _judgment("X3", ":", True, "failed"),
    _judgment("X4", ":", False, "failed"), _judgment("X4", ":", True, "unparseable"),
    _judgment("Y1", "Thought process:", False, verdict="rejected"),
    _judgment("Y1", "Thought process:", False, verdict="chosen", run_id="judge-plant-2", minutes=5),
    _judgment("Y1", "Thought process:", True, verdict="chosen"),
    _judgment("Y2", "Thought process:", False, verdict="rejected"),
    _judgment("Y2", "Thought process:", False, "failed", run_id="judge-plant-2", minutes=5),
    _judgment("Y2", "Thought process:", True, verdict="chosen"),
    _judgment("Y3", "Thought process:", False, verdict="chosen"),
    _judgment("Y3", "Thought process:", False, verdict="rejected", sample=1),
    _judgment("Y3", "Thought process:", True, verdict="chosen"),
    _judgment("Y3", "Thought process:", True, verdict="chosen", sample=1),
    _judgment("Z1", ":", False, verdict="rejected", attribute="harmlessness"),
    _judgment("Z1", ":", True, verdict="rejected", attribute="harmlessness"),
    _judgment("P1", None, False, verdict="rejected", template="pairwise"),
    _judgment("P1", None, True, verdict="rejected", template="pairwise"),
]


class Built:
    """The module's warehouse, its files and the ingest results."""

    def __init__(self, wh: Warehouse, runs: dict[str, StageResult]) -> None:
        self.wh, self.runs = wh, runs
        self.files = dict(query(wh, "SELECT DISTINCT source, source_file FROM raw_rows"))
        """source -> the ``source_file`` the ingest stored for its file"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    tmp = tmp_path_factory.mktemp("views_values")
    wh = Warehouse.init(tmp / "wh")
    a = write_jsonl(tmp / "a.jsonl", A_ROWS)
    b = _write_csv(tmp / "b.csv", B_HEADER, B_ROWS)
    runs = {
        "a1": run_ingest(wh, a, detect_language=False),
        "b1": run_ingest(wh, b, detect_language=False),
        "a2": run_ingest(wh, a, detect_language=False),  # the same file read again
    }
    with wh.transaction("ingest-plant-c", "planted pair") as tx:
        tx.append(PAIRS, [{
            "pair_id": "P6", "prompt_id": "q10", "prompt": [{"role": "user", "content": "q10"}],
            "chosen": {"role": "assistant", "content": "planted"}, "rejected": {"role": "assistant", "content": "x"},
            "chosen_hash": "h6c", "rejected_hash": "h6r", "tie": True, "strength": 0, "language": "en",
            "language_detected": True, "source": "c", "source_file": "c.jsonl", "source_row": 0, "kind": "original",
            "run_id": "ingest-plant-c", "ingested_at": T0,
        }])
    embedding = lambda model, h, dim, run, at: {  # noqa: E731
        "model": model, "content_hash": h, "dim": dim, "vector": [0.5] * dim, "run_id": run, "created_at": at}
    with wh.transaction("embed-plant-1", "planted embeddings") as tx:
        tx.append(EMBEDDINGS, [embedding("m-a", "h1", 3, "embed-plant-1", T0), embedding("m-a", "h2", 3, "embed-plant-1", T0),
                               embedding("m-b", "h1", 2, "embed-plant-1", T0)])
    with wh.transaction("embed-plant-2", "planted embeddings") as tx:
        tx.append(EMBEDDINGS, [embedding("m-a", "h3", 3, "embed-plant-2", T0 + timedelta(hours=1))])
    with wh.transaction("judge-plant", "planted probe judgments") as tx:
        tx.append(JUDGMENTS, PROBE_ROWS)
    return Built(wh, runs)


def test_views_ingest_summary_reconciles_each_source_once(built):
    # a: read twice, counted once per row, by its accepting run; b: read once
    assert query(built.wh, "SELECT * FROM ingest_summary") == [
        ("a", 10, 4, 1, 1, 4),
        ("b", 6, 1, 1, 3, 1),
    ]


def test_views_ingest_runs_counts_each_run_with_its_snapshot(built):
    runs = built.runs
    expected = sorted([
        (runs["a1"].run_id, runs["a1"].snapshot_id, 10, 4, 1, 1, 4),
        (runs["b1"].run_id, runs["b1"].snapshot_id, 6, 1, 1, 3, 1),
        (runs["a2"].run_id, runs["a2"].snapshot_id, 10, 0, 5, 1, 4),  # every pair of a is known by now
    ])
    assert query(built.wh, "SELECT * FROM ingest_runs") == expected
    assert len({r[1] for r in expected}) == 3


def test_views_row_outcomes_keeps_one_row_per_input_row(built):
    rows = query(built.wh, "SELECT source, source_row, outcome, reason, run_id FROM row_outcomes "
                           "ORDER BY source, source_row")
    a1, a2, b1 = (built.runs[k].run_id for k in ("a1", "a2", "b1"))
    a_outcomes = ["accepted"] * 4 + ["duplicate", "conflict", "rejected", "rejected", "rejected", "rejected"]
    a_reasons = [None] * 6 + ["malformed_json", "identical_responses", "empty_content", "identical_responses"]
    b_outcomes = ["conflict", "conflict", "conflict", "duplicate", "accepted", "rejected"]
    b_reasons = [None] * 5 + ["malformed_csv"]
    assert [r[:4] for r in rows] == (
        [("a", i, o, r) for i, (o, r) in enumerate(zip(a_outcomes, a_reasons))]
        + [("b", i, o, r) for i, (o, r) in enumerate(zip(b_outcomes, b_reasons))]
    )
    # the accepting run is kept for the rows a1 accepted; b was read once
    assert [r[4] for r in rows[:4]] == [a1] * 4
    assert all(r[4] in (a1, a2) for r in rows[4:10])
    assert [r[4] for r in rows[10:]] == [b1] * 6


def test_views_reject_reasons_counts_each_rejected_row_once(built):
    a, b = built.files["a"], built.files["b"]
    assert query(built.wh, "SELECT * FROM reject_reasons") == [
        ("a", "identical_responses", 2, f"{a}:7"),
        ("a", "empty_content", 1, f"{a}:8"),
        ("a", "malformed_json", 1, f"{a}:6"),
        ("b", "malformed_csv", 1, f"{b}:5"),
    ]


def test_views_pairs_by_source(built):
    # source, pairs, prompts, ties, with_strength, languages, annotators
    assert query(built.wh, "SELECT * FROM pairs_by_source") == [
        ("a", 4, 3, 1, 3, 2, 1),  # P1 and P2 share q1; the tie P3 has strength 0, P4 none
        ("b", 1, 1, 0, 0, 1, 1),
        ("c", 1, 1, 1, 1, 1, 0),
    ]


def test_views_pairs_by_language(built):
    assert query(built.wh, "SELECT * FROM pairs_by_language") == [
        ("en", 4, 0.6667, 1),  # P1, P2, P3 given; P6 detected
        ("de", 1, 0.1667, 0),
        ("fr", 1, 0.1667, 0),
    ]


def test_views_length_stats(built):
    # a: chosen 4, 2, 5, 3 (avg 3.5, median 3.5); rejected 1, 6, 6, 3 (avg 4.0, median 4.5); prompt turns 1, 1, 1, 3;
    # chosen longer among non-tie pairs of unequal length: P1 yes, P2 no (P3 is a tie, P4 equal) -> 0.5
    assert query(built.wh, "SELECT * FROM length_stats") == [
        ("a", 4, 1.5, 3.5, 4.0, 3.5, 4.5, 0.5),
        ("b", 1, 1.0, 12.0, 2.0, 12.0, 2.0, 1.0),
        ("c", 1, 1.0, 7.0, 1.0, 7.0, 1.0, None),  # a tie only: no rate
    ]


def test_views_conflicts_summary_counts_a_row_read_twice_once(built):
    # b: P1 reversed by bob and carol, a preference against the tie P3; a: one tie against P1, read by both runs of a
    assert query(built.wh, "SELECT * FROM conflicts_summary") == [
        ("b", "reversed", 2, 1),
        ("a", "tie", 1, 1),
        ("b", "preference", 1, 1),
    ]
    assert query(built.wh, "SELECT sum(conflict) FROM ingest_summary")[0][0] == 4


def test_views_annotator_agreement_counts_stored_and_conflicting_annotators(built):
    # a: row 4 repeats P1 (agree), row 5 ties it; annotators: alice (P1's stored label)
    # b: row 3 repeats P2 (agree), bob and carol reverse P1, row 2 prefers against the tie P3;
    #    annotators: alice (stored P1), bob, carol
    assert query(built.wh, "SELECT * FROM annotator_agreement") == [
        ("a", 2, 1, 1, 0, 1, 0.5, 1),
        ("b", 4, 3, 1, 2, 1, 0.25, 3),
        ("*", 6, 3, 2, 2, 2, 0.3333, 3),
    ]


def test_views_embeddings_by_model(built):
    assert query(built.wh, "SELECT * FROM embeddings_by_model") == [
        ("m-a", 3, 3, 2, T0 + timedelta(hours=1)),
        ("m-b", 2, 1, 1, T0),
    ]


def test_views_judge_probe(built):
    template = f"{PROBE}@{PROBE_HASH[:8]}"
    columns = "judge, template, attribute, probe_key, probes, probes_both_orders, fooled_any, fooled_both, fp_any, fp_both, not_ok"
    assert query(built.wh, f"SELECT {columns} FROM judge_probe") == [
        (JUDGE, template, "harmlessness", ":", 1, 1, 1, 1, 1.0, 1.0, 0),
        (JUDGE, template, "overall", ":", 3, 2, 2, 1, 0.6667, 0.5, 3),
        (JUDGE, template, "overall", "Thought process:", 3, 3, 2, 0, 0.6667, 0.0, 0),
    ]


def test_views_row_outcomes_keeps_the_latest_reading_when_run_ids_share_a_second(wh):
    # Run ids sort by their start second, then by a random suffix: two ingests of one file in the same second
    # can sort against their commit order. The later commit is the latest reading of the row.
    row = {"source": "z", "source_file": "z.jsonl", "source_row": 0, "raw": "{}"}
    first, second = "ingest-20260101T000000-ffffffff", "ingest-20260101T000000-00000000"
    with wh.transaction(first, "planted reading") as tx:
        tx.append(RAW_ROWS, [{**row, "run_id": first, "outcome": "rejected", "reason": "missing_field"}])
    with wh.transaction(second, "planted reading") as tx:
        tx.append(RAW_ROWS, [{**row, "run_id": second, "outcome": "duplicate"}])
    assert query(wh, "SELECT run_id, outcome, reason FROM row_outcomes") == [(second, "duplicate", None)]
    assert query(wh, "SELECT source, rows, duplicate, rejected FROM ingest_summary") == [("z", 1, 1, 0)]
    assert query(wh, "SELECT count(*) FROM reject_reasons") == [(0,)]
