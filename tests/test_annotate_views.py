"""The annotation views (kappa, alpha, human vs label and judge, the audit, annotator quality) against numbers
worked out by hand on a tiny warehouse.

One warehouse for the module: two real ingests (sources s1 and s2) and planted rows for what the annotate, judge
and noise stages would write. No Label Studio, no LLM.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate.warehouse import Warehouse
from schemas import ANNOTATION_BATCHES, ANNOTATION_TASKS, ANNOTATIONS, JUDGMENTS, RUNS

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
LS = "label-studio:http://ls#1"

# Pairs P1..P5 (source s1) and P6, P7 (s2), none a tie. The label's side in the canonical orientation (A: the chosen
# response has the smaller content hash), checked in the fixture: P1 A, P2 A, P3 A, P4 B, P5 A, P6 B, P7 A.
SIDES = {"P1": "A", "P2": "A", "P3": "A", "P4": "B", "P5": "A", "P6": "B", "P7": "A"}

# Batch b1 routes P1..P7 (P1, P2, P3, P6 for the audit); batch b2, a day later, routes P3 again.
TASKS = [("b1", "P1", "audit"), ("b1", "P2", "audit"), ("b1", "P3", "audit"), ("b1", "P4", "likely_wrong"),
         ("b1", "P5", "uncertain"), ("b1", "P6", "audit"), ("b1", "P7", "judge_contradicts"), ("b2", "P3", "uncertain")]

# Annotations (annotator, pair, strength; verdict = its sign: C chosen, R rejected, T tie), lead time in seconds:
#           P1  P2  P3  P4  P5  P6  P7
#   b1 alice +2C +1C -2R -1R  0T +3C -3R   (10 s each)
#   b1 bob   +1C -1R -1R -2R +1C +2C +1C   (30 s each)
#   b1 carol +3C  0T  .  -1R  0T  .   .    (40 s; P4 first said +1C in 100 s, then was edited: version 2 counts)
#   b2 alice  .   .  +1C  .   .   .   .    (20 s, a day later: alice's latest vote on P3 across batches)
#   b2 carol  .   .  +2C  .   .   .   .    (40 s)
#   imported dave +2C . . .  .  -1R   .    (batch NULL, no lead time)
# Majorities in b1: P1 C, P2 split (C/R/T), P3 R, P4 R, P5 T, P6 C, P7 split (R/C).
# Over all batches ('*'): P1 C, P2 split, P3 C (alice's b2 vote and carol's beat bob's R), P4 R, P5 T, P6 C, P7 split.
VOTES = [
    ("b1", "alice", {"P1": 2, "P2": 1, "P3": -2, "P4": -1, "P5": 0, "P6": 3, "P7": -3}, 10.0),
    ("b1", "bob", {"P1": 1, "P2": -1, "P3": -1, "P4": -2, "P5": 1, "P6": 2, "P7": 1}, 30.0),
    ("b1", "carol", {"P1": 3, "P2": 0, "P4": -1, "P5": 0}, 40.0),
    ("b2", "alice", {"P3": 1}, 20.0),
    ("b2", "carol", {"P3": 2}, 40.0),
    (None, "dave", {"P1": 2, "P6": -1}, None),
]

# Judge versions (judge, template pairwise, attribute), verdicts position-consistent unless noted:
#   overall:      P1 C, P2 C, P3 R, P4 C, P5 inconsistent (C, then R when swapped), P6 R
#   harmlessness: P1 C, P4 R, P6 R
# Pooled (judge '*', plurality of the versions): P1 C, P2 C, P3 R, P4 split (C/R: no verdict), P6 R.
JUDGE = "local/smol"
OVERALL, HARMLESS = f"{JUDGE} pairwise overall", f"{JUDGE} pairwise harmlessness"
JUDGE_VERDICTS = {
    "overall": {"P1": ("chosen", "chosen"), "P2": ("chosen", "chosen"), "P3": ("rejected", "rejected"),
                "P4": ("chosen", "chosen"), "P5": ("chosen", "rejected"), "P6": ("rejected", "rejected")},
    "harmlessness": {"P1": ("chosen", "chosen"), "P4": ("rejected", "rejected"), "P6": ("rejected", "rejected")},
}


def _verdict(strength: int) -> str:
    return "chosen" if strength > 0 else "rejected" if strength < 0 else "tie"


def _annotation(pair_id: str, annotator: str, strength: int, batch: str | None, lead: float | None, *,
                at: datetime, annotation_id: str, version: int = 1) -> dict:
    return {"pair_id": pair_id, "annotator": annotator, "verdict": _verdict(strength), "strength": strength,
            "reason": None, "lead_time": lead, "batch_id": batch, "origin": LS if batch else "import:old.jsonl",
            "annotation_id": annotation_id, "version": version, "content_hash": f"{annotation_id}v{version}",
            "annotated_at": at, "run_id": f"annotate-pull-{version}", "created_at": at + timedelta(minutes=1)}


def _noise_run(run_id: str, finished_at: datetime, reliabilities: dict[str, float]) -> dict:
    details = {"reliabilities": {"fused": reliabilities}, "fusion_weights": {"fused": {k: 1.0 for k in reliabilities}}}
    return {"run_id": run_id, "stage": "noise", "started_at": finished_at - timedelta(minutes=5),
            "finished_at": finished_at, "config": "{}", "counts": json.dumps({"details": details})}


class Built:
    def __init__(self, wh: Warehouse, ids: dict[str, str]) -> None:
        self.wh, self.ids = wh, ids
        self.names = {v: k for k, v in ids.items()}

    def rows(self, sql: str) -> list[tuple]:
        return query(self.wh, sql)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    tmp = tmp_path_factory.mktemp("annotate_views")
    wh = Warehouse.init(tmp / "wh")
    rows = {f"P{i}": trl(prompt=f"q{i}", chosen=f"good {i}", rejected=f"bad {i}") for i in range(1, 8)}
    run_ingest(wh, write_jsonl(tmp / "s1.jsonl", [rows[f"P{i}"] for i in range(1, 6)]), detect_language=False)
    run_ingest(wh, write_jsonl(tmp / "s2.jsonl", [rows[f"P{i}"] for i in range(6, 8)]), detect_language=False)
    found = query(wh, "SELECT prompt[1].content, pair_id, source, chosen_hash < rejected_hash, tie FROM pairs")
    ids = {"P" + q[1:]: pair_id for q, pair_id, *_ in found}
    assert {"P" + q[1:]: ("A" if a else "B", s, t) for q, _, s, a, t in found} == {
        p: (side, "s1" if int(p[1:]) <= 5 else "s2", False) for p, side in SIDES.items()}

    with wh.transaction("annotate-push-b1", "planted batches") as tx:
        tx.append(ANNOTATION_BATCHES, [
            {"batch_id": b, "tool": "label-studio", "server": "http://ls", "project_id": n, "project": f"curate {b}",
             "overlap": 3, "show_suggestions": False, "routing": "{}", "reasons": "{}", "pairs": k, "run_id": b,
             "created_at": T0 + timedelta(days=n - 1)} for b, n, k in (("b1", 1, 7), ("b2", 2, 1))])
        tx.append(ANNOTATION_TASKS, [
            {"batch_id": b, "pair_id": ids[p], "task_id": i, "left_is_chosen": i % 2 == 0, "route_reason": reason,
             "p_wrong": None, "run_id": b, "created_at": T0} for i, (b, p, reason) in enumerate(TASKS)])
    planted = [
        _annotation(ids[p], annotator, s, batch, lead, at=T0 + timedelta(days=1 if batch == "b2" else 0, minutes=i),
                    annotation_id=f"{annotator}-{batch}-{p}")
        for i, (batch, annotator, strengths, lead) in enumerate(VOTES) for p, s in strengths.items()
    ]
    first = next(a for a in planted if a["annotation_id"] == "carol-b1-P4")
    first.update(verdict="chosen", strength=1, lead_time=100.0)  # what carol said before her edit
    edit = _annotation(ids["P4"], "carol", -1, "b1", 40.0, at=T0 + timedelta(hours=2), annotation_id="carol-b1-P4",
                       version=2)
    with wh.transaction("annotate-pull-1", "planted annotations") as tx:
        tx.append(ANNOTATIONS, planted)
    with wh.transaction("annotate-pull-2", "planted edit") as tx:
        tx.append(ANNOTATIONS, [edit])

    judgments = [
        {"pair_id": ids[p], "judge": JUDGE, "template": "pairwise", "template_hash": "th1", "attribute": attribute,
         "swapped": swapped, "sample": 0, "verdict": verdict, "status": "ok", "run_id": "judge-plant",
         "judged_at": T0}
        for attribute, verdicts in JUDGE_VERDICTS.items()
        for p, orders in verdicts.items()
        for swapped, verdict in zip((False, True), orders)
    ]
    with wh.transaction("judge-plant", "planted judgments") as tx:
        tx.append(JUDGMENTS, judgments)
    with wh.transaction("noise-plant", "planted noise runs") as tx:
        tx.append(RUNS, [_noise_run("noise-1", T0 + timedelta(days=1), {"label": 0.7, "human:alice": 0.8}),
                         _noise_run("noise-2", T0 + timedelta(days=2), {"label": 0.7, "human:alice": 0.9,
                                                                         "human:bob": 0.6})])
    return Built(wh, ids)


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return round((centre - half) / (1 + z * z / n), 4), round((centre + half) / (1 + z * z / n), 4)


def test_annotate_views_kappa_per_annotator_pair_counts_the_edit(built):
    rows = built.rows("SELECT * FROM annotator_kappa")
    b1 = [r for r in rows if r[0] == "b1"]
    assert b1 == [
        # s1, alice vs bob over P1..P5: C C R R T vs C R R R C; agree on P1, P3, P4 = 3/5.
        # alice C2 R2 T1, bob C2 R3: expected (2*2 + 2*3) / 25 = 0.4; kappa (0.6 - 0.4) / 0.6 = 1/3.
        ("b1", "s1", "alice", "bob", 5, 0.6, 0.4, 0.3333),
        # alice vs carol over P1, P2, P4, P5: C C R T vs C T R T (carol's P4 is her edit, R, not her first C);
        # agree 3/4; alice C2 R1 T1, carol C1 R1 T2: expected (2 + 1 + 2) / 16 = 0.3125; kappa (12 - 5) / 11.
        ("b1", "s1", "alice", "carol", 4, 0.75, 0.3125, 0.6364),
        # bob vs carol: C R R C vs C T R T; agree 2/4; bob C2 R2: expected (2 + 2) / 16; kappa 0.25 / 0.75.
        ("b1", "s1", "bob", "carol", 4, 0.5, 0.25, 0.3333),
        # s2, alice vs bob over P6, P7: C R vs C C; agree 1/2; expected (1*2) / 4 = 0.5: kappa 0.
        ("b1", "s2", "alice", "bob", 2, 0.5, 0.5, 0.0),
        # every source: alice C3 R3 T1, bob C4 R3 over seven pairs, agree 4/7;
        # expected (3*4 + 3*3) / 49 = 3/7; kappa (4/7 - 3/7) / (4/7) = 0.25.
        ("b1", "*", "alice", "bob", 7, 0.5714, 0.4286, 0.25),
        ("b1", "*", "alice", "carol", 4, 0.75, 0.3125, 0.6364),
        ("b1", "*", "bob", "carol", 4, 0.5, 0.25, 0.3333),
    ]
    # b2: alice and carol both C on P3 only: expected 1, kappa NULL
    assert [r for r in rows if r[0] == "b2" and r[1] == "s1"] == [("b2", "s1", "alice", "carol", 1, 1.0, 1.0, None)]
    every = {(r[2], r[3]): r[4:] for r in rows if r[:2] == ("*", "*")}
    # across batches alice's latest P3 is her b2 C: C C C R T C R vs bob's C R R R C C C, agree on P1, P4, P6;
    # alice C4 R2 T1, bob C4 R3: expected (16 + 6) / 49; kappa (21 - 22) / 27 = -1/27.
    assert every["alice", "bob"] == (7, 0.4286, 0.449, -0.037)
    # alice vs carol over P1..P5: C C C R T vs C T C R T, agree 4/5; alice C3 R1 T1, carol C2 R1 T2:
    # expected (6 + 1 + 2) / 25 = 0.36; kappa 0.44 / 0.64 = 0.6875. dave (imported) pairs with everyone.
    assert every["alice", "carol"] == (5, 0.8, 0.36, 0.6875)
    assert every["alice", "dave"][0] == 2 and every["carol", "dave"] == (1, 1.0, 1.0, None)


def test_annotate_views_alpha_by_the_coincidence_matrix(built):
    rows = {r[:2]: r[2:] for r in built.rows("SELECT * FROM annotation_alpha")}
    # b1, s1: five units, 14 pairable values (P3 has two: carol did not judge it in b1).
    #   verdicts P1 CCC, P2 CRT, P3 RR, P4 RRR, P5 TCT; n_C 5, n_R 6, n_T 3.
    #   sum_o = P2 (9 - 3) / 2 + P5 (9 - 5) / 2 = 5; sum_e = 14^2 - 25 - 36 - 9 = 126;
    #   alpha = 1 - 13 * 5 / 126 = 61/126 = 0.4841.
    #   strengths P1 (2, 1, 3), P2 (1, -1, 0), P3 (-2, -1), P4 (-1, -2, -1), P5 (0, 1, 0): each unit's ordered
    #   squared differences over (m - 1): 12/2 + 12/2 + 2/1 + 4/2 + 4/2 = 18; sum 0, sum of squares 28,
    #   sum_e = 2 * 14 * 28 - 2 * 0^2 = 784; alpha = 1 - 13 * 18 / 784 = 0.7015.
    assert rows["b1", "s1"] == (5, 14, 3, 0.4841, 0.7015)
    # s2: P6 CC (3, 2), P7 RC (-3, 1). Verdicts: sum_o = 2 / 1, n_C 3, n_R 1: sum_e = 16 - 9 - 1 = 6,
    # alpha = 1 - 3 * 2 / 6 = 0. Strengths: sum_o = 2 + 32 = 34; sum 3, squares 23: sum_e = 2*4*23 - 2*9 = 166;
    # alpha = 1 - 3 * 34 / 166 = 0.3855.
    assert rows["b1", "s2"] == (2, 4, 2, 0.0, 0.3855)
    # both sources pool the sums, not the alphas: verdicts sum_o 7, n 18, n_C 8, n_R 7, n_T 3:
    # sum_e = 324 - 64 - 49 - 9 = 202, alpha = 1 - 17 * 7 / 202 = 0.4109; strengths sum_o 52, sum 3, squares 51:
    # sum_e = 2 * 18 * 51 - 2 * 9 = 1818, alpha = 1 - 17 * 52 / 1818 = 0.5138.
    assert rows["b1", "*"] == (7, 18, 3, 0.4109, 0.5138)
    # b2: one unit (P3: alice C +1, carol C +2): verdicts all one value (sum_e 0, alpha NULL); strengths
    # sum_o = 2, sum_e = 2*2*5 - 2*9 = 2, alpha = 1 - 1 * 2 / 2 = 0
    assert rows["b2", "*"] == (1, 2, 2, None, 0.0)
    # the imported annotations (dave alone) form no unit
    assert (None, "*") not in rows


def test_annotate_views_alpha_matches_krippendorffs_example(tmp_path):
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": four coders, twelve units, values 1..5
    # (shifted by -3 into strengths -2..2; an interval alpha does not move). Unit 12 has one value: not pairable.
    # Published: interval alpha 0.849, over 11 units and 40 pairable values.
    data = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    wh = Warehouse.init(tmp_path / "wh")
    run_ingest(wh, write_jsonl(tmp_path / "k.jsonl", [trl(prompt=f"u{u}") for u in range(12)]), detect_language=False)
    units = dict(query(wh, "SELECT prompt[1].content, pair_id FROM pairs"))
    rows = [_annotation(units[f"u{u}"], coder, value - 3, "k", 5.0, at=T0, annotation_id=f"{coder}{u}")
            for coder, values in data.items() for u, value in enumerate(values) if value is not None]
    with wh.transaction("annotate-pull-k", "planted annotations") as tx:
        tx.append(ANNOTATIONS, rows)
    assert query(wh, "SELECT units, annotations, annotators, round(alpha_strength, 3) FROM annotation_alpha "
                     "WHERE batch_id = 'k' AND source = '*'") == [(11, 40, 4, 0.849)]


def test_annotate_views_human_vs_label_in_one_orientation_without_splits(built):
    # Label sides (A: chosen has the smaller hash): P1 A, P3 A, P4 B, P5 A, P6 B, P7 A.
    # Majority sides: C -> the label's side, R -> the other, T -> tie.
    assert built.rows("SELECT * FROM human_vs_label") == [
        # b1 s1: P1 C->A, P3 R->B, P4 R->A, P5 T->tie (P2 split); labels A A B A. Agree on P1 only: 1/4.
        # human A2 B1 T1, label A3 B1: expected (2*3 + 1*1) / 16 = 7/16; kappa (4/16 - 7/16) / (9/16) = -1/3.
        ("b1", "s1", 4, 1, 0.25, -0.3333, 1),
        # b1 s2: P6 C->B, label B (P7 split): expected 1, kappa NULL.
        ("b1", "s2", 1, 1, 1.0, None, 1),
        # b1 both: human A2 B2 T1, label A3 B2; agree 2/5; expected (2*3 + 2*2) / 25 = 0.4: kappa 0.
        ("b1", "*", 5, 2, 0.4, 0.0, 2),
        # b2: P3 C (alice, carol) -> A = label
        ("b2", "s1", 1, 1, 1.0, None, 0),
        ("b2", "*", 1, 1, 1.0, None, 0),
        # imported (batch NULL): dave P1 C -> A (label A), P6 R -> A (label B)
        (None, "s1", 1, 1, 1.0, None, 0),
        (None, "s2", 1, 0, 0.0, 0.0, 0),  # observed 0, expected 0: kappa 0
        # human A2, label A1 B1: expected 2/4; observed 1/2: kappa 0
        (None, "*", 2, 1, 0.5, 0.0, 0),
        # every batch, s1: P1 A, P3 C->A, P4 A, P5 tie vs labels A A B A: agree 2/4;
        # human A3 T1, label A3 B1: expected 9/16, kappa (8 - 9) / 7 = -1/7
        ("*", "s1", 4, 2, 0.5, -0.1429, 1),
        # P6 C (alice, bob over dave's R) -> B = label; P7 split
        ("*", "s2", 1, 1, 1.0, None, 1),
        # human A3 B1 T1, label A3 B2: agree 3/5, expected (9 + 2) / 25 = 0.44, kappa 0.16 / 0.56
        ("*", "*", 5, 3, 0.6, 0.2857, 2),
    ]


def test_annotate_views_human_vs_judge_per_version_and_pooled(built):
    rows = {r[:3]: r[3:] for r in built.rows("SELECT * FROM human_vs_judge")}
    # b1, overall version: pairs with a human majority and a consistent verdict: P1 (C, C), P3 (R, R), P4 (R, C),
    # P6 (C, R); P2 is split for the humans, P5 inconsistent for the judge. Sides: human A B A B, judge A B B A.
    # s1 (P1, P3, P4): agree 2/3; human A2 B1, judge A1 B2: expected 4/9; kappa (6/9 - 4/9) / (5/9) = 0.4.
    assert rows["b1", "s1", OVERALL] == (3, 2, 0.6667, 0.4)
    # s2 (P6): human B, judge A: observed 0, expected 0: kappa 0.
    assert rows["b1", "s2", OVERALL] == (1, 0, 0.0, 0.0)
    # both: human A2 B2, judge A2 B2: expected 0.5, observed 0.5: kappa 0.
    assert rows["b1", "*", OVERALL] == (4, 2, 0.5, 0.0)
    # harmlessness: P1 (C, C), P4 (R, R), P6 (C, R): sides human A A B, judge A A A: expected 6/9 = observed.
    assert rows["b1", "*", HARMLESS] == (3, 2, 0.6667, 0.0)
    # pooled: P1 C, P3 R, P6 R (P4 split between the versions): sides human A B B, judge A B A: agree 2/3;
    # human A1 B2, judge A2 B1: expected 4/9, kappa 0.4.
    assert rows["b1", "*", "*"] == (3, 2, 0.6667, 0.4)
    # every batch, pooled: humans P1 C, P3 C, P6 C vs judge C, R, R: agree 1/3; sides human A A B, judge A B A:
    # expected (2*2 + 1*1) / 9 = 5/9, kappa (3/9 - 5/9) / (4/9) = -0.5.
    assert rows["*", "*", "*"] == (3, 1, 0.3333, -0.5)
    judges = (OVERALL, HARMLESS, "*")
    assert {k for k in rows if k[0] == "b1"} == {("b1", s, j) for s in ("s1", "s2", "*") for j in judges}


def test_annotate_views_audit_estimates_with_wilson_intervals(built):
    rows = built.rows("SELECT * FROM annotation_audit")

    def row(batch, source, pairs, label_wrong, judge_pairs, judge_wrong):
        return (batch, source, pairs, label_wrong, round(label_wrong / pairs, 4), *_wilson(label_wrong, pairs),
                judge_pairs, judge_wrong, round(judge_wrong / judge_pairs, 4), *_wilson(judge_wrong, judge_pairs))

    # audited: P1, P2, P3, P6 (b1). b1 majorities: P1 C, P2 split (left out), P3 R (the label is wrong), P6 C;
    # pooled judge: P1 C (right), P3 R (right), P6 R (wrong). b2 audits nothing; imported annotations have no task.
    # Every batch: P3's majority is C (alice's b2 vote), so no label is wrong and the judge is wrong on P3 and P6.
    assert rows == [
        row("b1", "s1", 2, 1, 2, 0),
        row("b1", "s2", 1, 0, 1, 1),
        row("b1", "*", 3, 1, 3, 1),
        row("*", "s1", 2, 0, 2, 1),
        row("*", "s2", 1, 0, 1, 1),
        row("*", "*", 3, 0, 3, 2),
    ]
    # the interval by hand for 1 of 3: p = 1/3, z^2 = 3.8416: centre (1/3 + 0.6403) / 2.2805 = 0.4269,
    # half 1.96 * sqrt(0.0741 + 0.1067) / 2.2805 = 0.3655
    assert rows[2][5:7] == (0.0615, 0.7923)


def test_annotate_views_annotator_quality_leave_one_out_and_reliability(built):
    rows = {r[:3]: r[3:] for r in built.rows("SELECT * FROM annotator_quality")}
    # every batch: alice's votes P1 C P2 C P3 C(b2) P4 R P5 T P6 C P7 R against the others' majority:
    # P1 C (bob, carol, dave) agrees; P2 (R, T), P3 (R, C), P5 (C, T), P6 (C, R) tie: left out; P4 R agrees;
    # P7 C (bob) disagrees: 2 of 3. Eight annotations (seven in b1, one in b2): lead (7 * 10 + 20) / 8 = 11.25 s.
    # Reliability: the later noise run's 0.9, not the first's 0.8.
    assert rows["*", "*", "alice"] == (8, 7, 3, 0.6667, 11.25, 0.9)
    # bob: P1 agrees; P3 (others C C), P5 (T T), P7 (R) disagree; P4 agrees; P2, P6 tie: 2 of 5.
    assert rows["*", "*", "bob"] == (7, 7, 5, 0.4, 30.0, 0.6)
    # carol: five annotations (the edit is not a sixth; its 100 s is not counted); P1 and P4 agree, P2, P3, P5 tie.
    # No noise run names her yet.
    assert rows["*", "*", "carol"] == (5, 5, 2, 1.0, 40.0, None)
    # dave: P1 agrees, P6 (others C C) does not; no lead time
    assert rows["*", "*", "dave"] == (2, 2, 2, 0.5, None, None)
    # in b1 alone: carol's P4 is R (her edit): others alice R, bob R agree; P1 agrees; P2, P5 tie
    assert rows["b1", "*", "carol"] == (4, 4, 2, 1.0, 40.0, None)
    # alice in b1, s1: P1 (others C C), P3 (bob R: carol judged it in b2 only), P4 (R R) agree; P2, P5 tie
    assert rows["b1", "s1", "alice"] == (5, 5, 3, 1.0, 10.0, 0.9)
    assert rows[None, "*", "dave"] == (2, 2, 0, None, None, None)
