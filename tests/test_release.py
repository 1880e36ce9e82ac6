"""Releases: the policy on planted evidence, the noise rules' share, prompt-level splits, diffs, re-materialization,
immutability."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone

import duckdb
import pytest
from conftest import query, run_ingest, trl, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from curate import release
from curate.release import ReleaseConfig
from curate.release.policy import ReleasePolicy, _split_sql, load_policy
from curate.stage import new_run_id
from curate.warehouse import Warehouse
from schemas import ANNOTATIONS, JUDGMENTS, NOISE_SCORES, PAIRS, RM_SCORES, RUNS

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

# prompt -> (noise score or None, extra TRL fields)
PLANTED = {
    "flip": (0.95, {}),
    "drop": (0.8, {}),
    "keep": (0.1, {}),
    "unscored": (None, {}),
    "tie": (0.95, {"tie": True, "strength": 0}),
    "human_keep": (0.95, {}),
    "human_flip": (None, {}),
    "human_split": (None, {}),
    "french": (0.1, {"language": "fr"}),
    "conflicted": (0.1, {}),
    "judged_inconsistent": (0.1, {}),
    "judged_consistent": (0.1, {}),
}
HUMAN = {"human_keep": ["chosen", "chosen", "rejected"], "human_flip": ["rejected"], "human_split": ["chosen", "rejected"]}
PLANTED_SOURCES = ["main", "other"]  # other tests add their own sources to the same warehouse and scope to them
PLANTED_POLICY = ReleasePolicy(sources=PLANTED_SOURCES, languages=["en"], exclude_sources=["other"], include_conflicted=False,
                               min_judge_consistency=0.5, include_augmentations=False)


def pair_ids(wh: Warehouse) -> dict[str, str]:
    """Prompt text of a single-turn pair -> its pair_id."""
    return dict(query(wh, "SELECT prompt[1].content, pair_id FROM pairs"))


def plant(wh: Warehouse, table, rows: list[dict]) -> None:
    """Evidence rows written as a stage would (a fresh run id: staged file names derive from it)."""
    with wh.transaction(new_run_id("plant"), f"plant {table.name}") as tx:
        tx.append(table, rows)


def noise_row(pair_id: str, score: float, run_id: str = "noise-1", method: str = "fused", noise_rate: float | None = None,
              created_at: datetime = NOW) -> dict:
    """A noise_scores row; ``noise_rate``: the run's estimated wrong-label share, as the fused rows carry it."""
    components = "{}" if noise_rate is None else json.dumps({"noise_rate": noise_rate})
    return {"pair_id": pair_id, "method": method, "score": score, "components": components, "config_hash": "test",
            "run_id": run_id, "created_at": created_at}


def judgment(pair_id: str, swapped: bool, verdict: str, judge: str = "local/test") -> dict:
    return {"pair_id": pair_id, "judge": judge, "template": "pairwise", "template_hash": "t1", "attribute": "overall",
            "swapped": swapped, "sample": 0, "winner": "A", "verdict": verdict, "status": "ok", "run_id": "judge-1",
            "judged_at": NOW}


def against(pair_id: str, judge: str = "local/test") -> list[dict]:
    """A judge version that says 'rejected' in both presentation orders: a position-consistent verdict against the label."""
    return [judgment(pair_id, False, "rejected", judge), judgment(pair_id, True, "rejected", judge)]


def annotation(pair_id: str, annotator: str, verdict: str, *, version: int = 1, annotation_id: str | None = None,
               batch_id: str | None = None) -> dict:
    """An ``annotations`` row as a pull writes it; a later ``version`` of the same id is an edit."""
    strength = {"chosen": 2, "rejected": -2, "tie": 0}[verdict]
    return {"pair_id": pair_id, "annotator": annotator, "verdict": verdict, "strength": strength, "batch_id": batch_id,
            "origin": "label-studio:test#1", "annotation_id": annotation_id or f"{pair_id}/{annotator}", "version": version,
            "content_hash": f"{verdict}-{version}", "annotated_at": NOW, "run_id": "pull-1", "created_at": NOW}


def plant_annotations(wh: Warehouse, votes: dict[str, list[str]]) -> None:
    """Human verdicts: annotator ``ann<i>`` gives the i-th verdict of each pair."""
    plant(wh, ANNOTATIONS, [annotation(pid, f"ann{i}", v) for pid, vs in votes.items() for i, v in enumerate(vs)])


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Warehouse, dict[str, str]]:
    """A warehouse with one pair per planted case and its evidence (noise, humans, judge, conflict, augmentation)."""
    tmp = tmp_path_factory.mktemp("planted")
    wh = Warehouse.init(tmp / "wh")
    main = [trl(prompt=p, chosen=f"good answer to {p}", rejected=f"bad answer to {p}", strength=2, language="en") | extra
            for p, (_, extra) in PLANTED.items()]
    run_ingest(wh, write_jsonl(tmp / "main.jsonl", main), detect_language=False)
    run_ingest(wh, write_jsonl(tmp / "other.jsonl", [trl(prompt="other", language="en")]), detect_language=False)
    reversed_label = trl(prompt="conflicted", chosen="bad answer to conflicted", rejected="good answer to conflicted")
    run_ingest(wh, write_jsonl(tmp / "second.jsonl", [reversed_label]), detect_language=False)
    ids = pair_ids(wh)
    # a noise rate of one half: the noise rules may act on the top half of the scored pairs left to them
    plant(wh, NOISE_SCORES, [noise_row(ids[p], s, noise_rate=0.5) for p, (s, _) in PLANTED.items() if s is not None])
    plant_annotations(wh, {ids[p]: v for p, v in HUMAN.items()})
    plant(wh, JUDGMENTS, [judgment(ids["judged_inconsistent"], False, "chosen"), judgment(ids["judged_inconsistent"], True, "rejected"),
                          judgment(ids["judged_consistent"], False, "chosen"), judgment(ids["judged_consistent"], True, "chosen"),
                          *against(ids["flip"])])
    parent = query(wh, "SELECT * FROM pairs WHERE pair_id = ?", [ids["keep"]])[0]
    augmented = dict(zip(PAIRS.names, parent)) | {
        "pair_id": "aug-1", "prompt_id": "aug-prompt", "prompt": [{"role": "user", "content": "augmented keep"}],
        "kind": "causal", "parent_pair_id": ids["keep"], "run_id": "augment-1"}
    plant(wh, PAIRS, [augmented])
    ids["augmented"] = "aug-1"
    return wh, ids


def decisions(wh: Warehouse, name: str) -> dict[str, tuple[str, str]]:
    return {pid: (d, r) for pid, d, r in query(wh, "SELECT pair_id, decision, reason FROM release_rows WHERE release = ?", [name])}


def test_release_planted_cases_get_their_decision_and_reason_code(planted):
    wh, ids = planted
    result = release.run(wh, ReleaseConfig(name="planted", policy=PLANTED_POLICY))
    got = decisions(wh, "planted")
    expected = {
        "flip": ("flip", "noise_flip"),
        "drop": ("drop", "noise_drop"),
        "keep": ("keep", "kept"),
        "unscored": ("keep", "unscored"),
        "tie": ("drop", "tie_excluded"),
        "human_keep": ("keep", "human_override"),
        "human_flip": ("flip", "human_override"),
        "human_split": ("drop", "human_split"),
        "french": ("drop", "language_filtered"),
        "other": ("drop", "source_filtered"),
        "conflicted": ("drop", "label_conflict"),
        "judged_inconsistent": ("drop", "judge_inconsistent"),
        "judged_consistent": ("keep", "kept"),
        "augmented": ("drop", "augmentation_excluded"),
    }
    assert {p: got[ids[p]] for p in expected} == expected
    info = release.get(wh, "planted")
    stored = query(wh, "SELECT decision, count(*) FROM release_rows WHERE release = 'planted' GROUP BY ALL")
    assert info.counts["decisions"] == result.outcomes == {"keep": 0, "flip": 0, "drop": 0} | dict(stored)
    assert result.outcomes["flip"] == 2 and result.rows_in == len(got)
    assert result.dropped["noise_drop"] == 1 and info.counts["decision_reasons"]["flip:human_override"] == 1
    # what each rule did, with the precision the evidence gives it, in the counts and in the view
    rules = info.counts["rules"]
    assert rules["flip:noise_flip"] == {"pairs": 1, "scored": 1, "est_precision": 0.95, "mean_score": 0.95}
    assert rules["drop:noise_drop"]["est_precision"] == 0.8 and rules["keep:kept"]["est_precision"] == 0.9
    assert rules["drop:tie_excluded"]["scored"] == 1 and rules["keep:unscored"]["est_precision"] is None
    assert query(wh, "SELECT json_extract(counts, '$.details.rules') FROM runs WHERE run_id = ?", [result.run_id])[0][0] is not None
    view = {(d, r): (n, k, p) for d, r, n, k, p in query(
        wh, "SELECT decision, reason, pairs, scored, est_precision FROM release_rules WHERE release = 'planted'")}
    assert view == {tuple(k.split(":")): (v["pairs"], v["scored"], v["est_precision"]) for k, v in rules.items()}
    assert info.policy == PLANTED_POLICY and info.policy_hash == PLANTED_POLICY.hash
    assert info.snapshot_id < result.snapshot_id  # it records what it read, then commits on top
    assert query(wh, "SELECT stage FROM runs WHERE run_id = ?", [result.run_id]) == [("release",)]


def noise_run(wh: Warehouse, reliabilities: dict[str, float], finished_at: datetime = NOW) -> None:
    """A noise run's row as the stage writes it: the fused EM's reliabilities in its details (view noise_reliabilities)."""
    counts = {"details": {"reliabilities": {"fused": reliabilities}, "fusion_weights": {"fused": {}}}}
    plant(wh, RUNS, [{"run_id": new_run_id("noise"), "stage": "noise", "started_at": finished_at, "finished_at": finished_at,
                      "config": "{}", "counts": json.dumps(counts)}])


# prompt -> (annotator, verdict) of its latest annotations; strong: 0.95 accurate (weight ln 19 = 2.94), weak and
# sloppy: 0.6 (ln 1.5 = 0.41 each), coin: 0.5 (the floor, 0.01), new: not estimated (1)
WEIGHTED = {
    "w_strong_wins": [("strong", "rejected"), ("weak", "chosen"), ("sloppy", "chosen")],
    "w_new_wins": [("new", "rejected"), ("weak", "chosen"), ("sloppy", "chosen")],
    "w_split": [("new", "rejected"), ("other_new", "chosen")],
    "w_coin_alone": [("coin", "tie")],
    "w_edited": [("weak", "chosen")],  # edited to rejected below: the latest version counts
    "w_judge_agrees": [("strong", "rejected")],
}


def test_release_human_majority_is_weighted_by_estimated_annotator_quality(wh, tmp_path):
    prompts = [*WEIGHTED, "w_unverified"]
    run_ingest(wh, write_jsonl(tmp_path / "weighted.jsonl", [trl(prompt=p, chosen=f"good {p}", rejected=f"bad {p}") for p in prompts]),
               detect_language=False)
    ids = pair_ids(wh)
    noise_run(wh, {"label": 0.8, "human:strong": 0.1, "human:weak": 0.5}, finished_at=datetime(2025, 12, 1, tzinfo=timezone.utc))
    noise_run(wh, {"label": 0.8, "ensemble": 0.7, "human:strong": 0.95, "human:weak": 0.6, "human:sloppy": 0.6, "human:coin": 0.5})
    plant(wh, ANNOTATIONS, [annotation(ids[p], who, v) for p, votes in WEIGHTED.items() for who, v in votes])
    plant(wh, ANNOTATIONS, [annotation(ids["w_edited"], "weak", "rejected", version=2)])
    plant(wh, JUDGMENTS, [*against(ids["w_judge_agrees"]), *against(ids["w_strong_wins"]), *against(ids["w_unverified"]),
                          judgment(ids["w_new_wins"], False, "chosen"), judgment(ids["w_new_wins"], True, "chosen")])
    result = release.run(wh, ReleaseConfig(name="weighted"))
    rows = {r["pair_id"]: r for r in query_dicts(wh, "SELECT * FROM release_rows WHERE release = 'weighted'")}
    got = {p: (rows[ids[p]]["decision"], rows[ids[p]]["reason"], rows[ids[p]]["human_verdict"], rows[ids[p]]["human_votes"],
               rows[ids[p]]["human_agreement"], rows[ids[p]]["judge_verdict"], rows[ids[p]]["human_against_judge"]) for p in prompts}
    strong, weak, new = math.log(19), math.log(1.5), 1.0
    assert got == {
        "w_strong_wins": ("flip", "human_override", "rejected", 3, round(strong / (strong + 2 * weak), 4), "rejected", False),
        "w_new_wins": ("flip", "human_override", "rejected", 3, round(new / (new + 2 * weak), 4), "chosen", True),
        "w_split": ("drop", "human_split", "split", 2, 0.5, None, None),
        "w_coin_alone": ("drop", "human_override", "tie", 1, 1.0, None, None),
        "w_edited": ("flip", "human_override", "rejected", 1, 1.0, None, None),
        "w_judge_agrees": ("flip", "human_override", "rejected", 1, 1.0, "rejected", False),
        "w_unverified": ("keep", "unscored", None, None, None, None, None),  # the judges' verdict shows on verified pairs only
    }
    assert result.details["humans"] == {"verified": 6, "against_label": 5, "against_judge": 1}
    # one vote each: the two weak annotators outvote the strong one
    release.run(wh, ReleaseConfig(name="equal", policy=ReleasePolicy(human_weighting="equal")))
    equal = dict(query(wh, "SELECT pair_id, human_verdict FROM release_rows WHERE release = 'equal'"))
    assert equal[ids["w_strong_wins"]] == "chosen" and equal[ids["w_split"]] == "split"
    assert release.rematerialize(wh, "weighted").equals(release.stored_rows(wh, "weighted"))
    released = {r["pair_id"]: r for r in release.rows(wh, "weighted").to_pylist()}
    assert released[ids["w_new_wins"]]["human_against_judge"] is True


def query_dicts(wh: Warehouse, sql: str) -> list[dict]:
    with wh.connect(read_only=True) as con:
        return con.execute(sql).to_arrow_table().to_pylist()


# prompt -> fused P(wrong); ten scored pairs of one source, two of them tied at 0.7
SHARE_SCORES = {"s0": 0.99, "s1": 0.95, "s2": 0.92, "s3": 0.7, "s4": 0.7, "s5": 0.6, "s6": 0.45, "s7": 0.3, "s8": 0.2, "s9": 0.1}


@pytest.fixture
def shares(wh, tmp_path) -> tuple[Warehouse, dict[str, str]]:
    """SHARE_SCORES planted as a fused run with noise rate 0.4, and judges: s0 has one judge version, against the
    label in both orders (a flip agreed); s1 has two versions that disagree (no majority); the others have none."""
    rows = [trl(prompt=p, chosen=f"good {p}", rejected=f"bad {p}") for p in SHARE_SCORES]
    run_ingest(wh, write_jsonl(tmp_path / "shares.jsonl", rows), detect_language=False)
    ids = pair_ids(wh)
    plant(wh, NOISE_SCORES, [noise_row(ids[p], s, noise_rate=0.4) for p, s in SHARE_SCORES.items()])
    plant(wh, JUDGMENTS, [*against(ids["s0"]), *against(ids["s1"]),
                          judgment(ids["s1"], False, "chosen", "local/other"), judgment(ids["s1"], True, "chosen", "local/other")])
    return wh, ids


def noise_decisions(wh: Warehouse, ids: dict[str, str], name: str, **policy) -> dict[str, str]:
    """prompt -> decision of the pairs the noise rules flipped or dropped, under the default policy changed by ``policy``."""
    release.run(wh, ReleaseConfig(name=name, policy=ReleasePolicy(**policy)))
    by_id = {pid: prompt for prompt, pid in ids.items()}
    return {by_id[pid]: d for pid, (d, r) in decisions(wh, name).items() if r in ("noise_flip", "noise_drop")}


def test_release_noise_rules_act_on_the_top_scored_share(shares):
    wh, ids = shares
    # auto: the run's noise rate 0.4 of 10 scored pairs = the top 4; s0 flips (judge agrees), s1 (judges split) and
    # s2 (no judge) are dropped though above the flip bar; of the tie at 0.7 the smaller pair_id is in the share
    first, second = sorted([ids["s3"], ids["s4"]])
    tied_in = "s3" if ids["s3"] == first else "s4"
    assert noise_decisions(wh, ids, "auto") == {"s0": "flip", "s1": "drop", "s2": "drop", tied_in: "drop"}
    rules = release.get(wh, "auto").counts["rules"]
    assert rules["flip:noise_flip"]["est_precision"] == 0.99
    assert rules["drop:noise_drop"] == {"pairs": 3, "scored": 3, "est_precision": round((0.95 + 0.92 + 0.7) / 3, 4),
                                        "mean_score": round((0.95 + 0.92 + 0.7) / 3, 4)}
    assert rules["keep:kept"]["est_precision"] == round(1 - (0.7 + 0.6 + 0.45 + 0.3 + 0.2 + 0.1) / 6, 4)
    # a fixed share; the P(wrong) bar still holds inside it: s6 (0.45) is in the top 7 but below 0.5
    top6 = {"s0": "flip", "s1": "drop", "s2": "drop", "s3": "drop", "s4": "drop", "s5": "drop"}
    assert noise_decisions(wh, ids, "share-0.7", max_drop_share=0.7) == top6
    assert noise_decisions(wh, ids, "no-cap", max_drop_share=None) == top6
    assert noise_decisions(wh, ids, "share-0", max_drop_share=0.0) == {}
    # without the judge requirement every pair above the flip bar flips; without the drop rule only flips remain
    assert noise_decisions(wh, ids, "score-flips", flip_requires_judge=False) == {"s0": "flip", "s1": "flip", "s2": "flip", tied_in: "drop"}
    assert noise_decisions(wh, ids, "flips-only", min_p_wrong_to_drop=None) == {"s0": "flip"}


def test_release_auto_share_without_a_noise_rate_is_the_mean_score(shares):
    wh, ids = shares
    later = datetime(2026, 2, 1, tzinfo=timezone.utc)  # a later run without noise_rate in its components
    plant(wh, NOISE_SCORES, [noise_row(ids[p], s, run_id="noise-2", created_at=later) for p, s in SHARE_SCORES.items()])
    acted = noise_decisions(wh, ids, "mean")  # mean score 0.591 of 10 pairs: the top 5, both tied pairs
    assert acted == {"s0": "flip", "s1": "drop", "s2": "drop", "s3": "drop", "s4": "drop"}


def test_release_rows_swap_flipped_pairs_and_carry_margins(planted):
    wh, ids = planted
    release.run(wh, ReleaseConfig(name="oriented", policy=ReleasePolicy(sources=PLANTED_SOURCES, weight_source="noise")))
    table = {r["pair_id"]: r for r in release.rows(wh, "oriented").to_pylist()}
    assert table[ids["flip"]]["chosen"]["content"] == "bad answer to flip"
    assert table[ids["flip"]]["rejected"]["content"] == "good answer to flip"
    assert table[ids["keep"]]["chosen"]["content"] == "good answer to keep"
    assert table[ids["keep"]]["margin"] == 2.0  # stated strength
    assert table[ids["flip"]]["margin"] == 0.0  # a flipped pair's stated strength is void
    assert table[ids["keep"]]["weight"] == pytest.approx(0.9)  # 1 - score
    assert table[ids["flip"]]["weight"] == pytest.approx(0.95)  # score
    assert table[ids["unscored"]]["weight"] == 1.0
    assert ids["drop"] not in table and ids["tie"] not in table  # dropped rows are not released
    assert table[ids["french"]]["language"] == "fr"  # default policy: every language
    # an augmentation follows its parent's prompt into the same split
    assert table[ids["augmented"]]["split"] == table[ids["keep"]]["split"]
    everything = {r["pair_id"]: r for r in release.rows(wh, "oriented", include_dropped=True).to_pylist()}
    assert set(ids.values()) <= set(everything) and everything[ids["tie"]]["decision"] == "drop"
    assert everything[ids["tie"]]["split"] is None


def test_release_margin_from_ensemble_is_oriented_by_the_decision(planted):
    wh, ids = planted
    plant(wh, RM_SCORES, [
        {"pair_id": ids["keep"], "method": "ensemble", "model_id": m, "fold": 0, "margin": v, "run_id": "rm-1", "created_at": NOW}
        for m, v in (("s0", 1.0), ("s1", 2.0))
    ] + [{"pair_id": ids["flip"], "method": "ensemble", "model_id": "s0", "fold": 0, "margin": -3.0, "run_id": "rm-1", "created_at": NOW},
         {"pair_id": ids["unscored"], "method": "ensemble", "model_id": "s0", "fold": 0, "margin": -1.0, "run_id": "rm-1", "created_at": NOW}])
    policy = ReleasePolicy(sources=PLANTED_SOURCES, margin_source="ensemble", margin_scale=0.5)
    release.run(wh, ReleaseConfig(name="ensemble", policy=policy))
    margins = {r["pair_id"]: r["margin"] for r in release.rows(wh, "ensemble").to_pylist()}
    assert margins[ids["keep"]] == 0.75  # mean 1.5, scaled
    assert margins[ids["flip"]] == 1.5  # -(-3), scaled
    assert margins[ids["unscored"]] == 0.0  # negative margins are clipped
    assert margins[ids["judged_consistent"]] == 0.0  # no evidence


def test_release_without_noise_scores_keeps_everything_in_scope(planted, tmp_path):
    wh, _ = planted
    run_ingest(wh, write_jsonl(tmp_path / "plain.jsonl", [trl(prompt=f"q{i}", tie=i == 0) for i in range(6)]), detect_language=False)
    in_scope = lambda name: {k: v for k, v in release.get(wh, name).counts["decision_reasons"].items()  # noqa: E731
                             if k != "drop:source_filtered"}
    release.run(wh, ReleaseConfig(name="plain", policy=ReleasePolicy(sources=["plain"])))
    assert in_scope("plain") == {"drop:tie_excluded": 1, "keep:unscored": 5}
    no_noise_rules = ReleasePolicy(sources=["plain"], min_p_wrong_to_flip=None, min_p_wrong_to_drop=None, include_ties=True)
    release.run(wh, ReleaseConfig(name="plain-no-noise-rules", policy=no_noise_rules))
    assert in_scope("plain-no-noise-rules") == {"keep:kept": 6}


def test_release_name_is_never_reused_and_parents_must_exist(planted):
    wh, _ = planted
    release.run(wh, ReleaseConfig(name="once"))
    with pytest.raises(release.ReleaseExists, match="already exists"):
        release.run(wh, ReleaseConfig(name="once"))
    with pytest.raises(release.UnknownRelease, match="no release named 'missing'"):
        release.run(wh, ReleaseConfig(name="child", parent="missing"))
    with pytest.raises(release.ReleaseError, match="bad release name"):
        release.run(wh, ReleaseConfig(name="../evil"))
    assert query(wh, "SELECT count(*) FROM releases WHERE name = 'once'") == [(1,)]
    assert query(wh, "SELECT count(*) FROM releases WHERE name = 'child'") == [(0,)]


def test_release_diff_and_rematerialize_after_later_ingests_and_scores(planted, tmp_path):
    wh, _ = planted
    scope = ReleasePolicy(sources=["evolving"], max_drop_share=None, flip_requires_judge=False)  # the P(wrong) bars alone
    first = [trl(prompt=f"e{i}", chosen=f"yes {i}", rejected=f"no {i}") for i in range(6)]
    run_ingest(wh, write_jsonl(tmp_path / "evolving.jsonl", first), detect_language=False)
    ids = pair_ids(wh)
    plant(wh, NOISE_SCORES, [noise_row(ids["e0"], 0.3), noise_row(ids["e1"], 0.2)])
    release.run(wh, ReleaseConfig(name="v1", policy=scope))
    # later evidence and data: e0 becomes a flip, e1 a drop, two new pairs arrive
    later = [trl(prompt=f"e-new{i}") for i in range(2)]
    run_ingest(wh, write_jsonl(tmp_path / "evolving.jsonl", later), detect_language=False)
    plant(wh, NOISE_SCORES, [noise_row(ids["e0"], 0.99, run_id="noise-2"), noise_row(ids["e1"], 0.8, run_id="noise-2")])
    release.run(wh, ReleaseConfig(name="v2", parent="v1", policy=scope))
    ids = pair_ids(wh)
    result = release.diff(wh, "v1", "v2")
    assert result.added == sorted([ids["e-new0"], ids["e-new1"]])
    assert result.removed == [ids["e1"]]
    assert result.flipped == [ids["e0"]]
    assert sorted(result.changes.column("change").to_pylist()) == ["added", "added", "flipped", "removed"]
    assert release.get(wh, "v2").parent == "v1"
    # v1 is immutable: re-made from its snapshot it is the same, bit for bit, and its rows still read old content
    again = release.rematerialize(wh, "v1")
    assert again.equals(release.stored_rows(wh, "v1"))
    assert release.rows(wh, "v1").num_rows == 6
    assert release.rematerialize(wh, "v2").equals(release.stored_rows(wh, "v2"))


def test_release_no_prompt_in_two_splits(planted, tmp_path):
    wh, _ = planted
    rows = [trl(prompt=f"prompt {i}", chosen=f"answer {i}.{j}", rejected=f"other {i}.{j}")
            for i in range(150) for j in range(1 + i % 3)]  # single- and multi-pair prompts
    run_ingest(wh, write_jsonl(tmp_path / "many.jsonl", rows), detect_language=False)
    seed, splits = 7, {"train": 0.6, "validation": 0.2, "test": 0.2}
    release.run(wh, ReleaseConfig(name="splits", policy=ReleasePolicy(sources=["many"], seed=seed, splits=splits)))
    released = "FROM release_rows WHERE release = 'splits' AND split IS NOT NULL"
    assert query(wh, f"SELECT prompt_id {released} GROUP BY ALL HAVING count(DISTINCT split) > 1") == []
    got = dict(query(wh, f"SELECT prompt_id, any_value(split) {released} GROUP BY ALL"))
    assert len(got) == 150 and got == {pid: reference_split(seed, splits, pid) for pid in got}
    assert set(got.values()) == set(splits)


def reference_split(seed: int, splits: dict[str, float], key: str) -> str:
    """The documented split rule, re-implemented in Python."""
    unit = int(hashlib.md5(f"{seed}:{key}".encode()).hexdigest()[:13], 16) / 2**52
    total = 0.0
    names = sorted(splits)
    for name in names[:-1]:
        total += splits[name]
        if unit < total:
            return name
    return names[-1]


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.text(alphabet="0123456789abcdef", min_size=1, max_size=32), min_size=1, max_size=40),
    shares=st.lists(st.integers(1, 20), min_size=1, max_size=4),
    seed=st.integers(0, 10**6),
)
def test_release_split_rule_matches_its_python_definition(keys, shares, seed):
    splits = {f"s{i}": s / sum(shares) for i, s in enumerate(shares)}
    splits[f"s{len(shares) - 1}"] = 1 - sum(v for k, v in splits.items() if k != f"s{len(shares) - 1}")
    policy = ReleasePolicy(seed=seed, splits=splits)
    params: dict = {}
    expression = _split_sql(policy, params)
    got = duckdb.execute(f"SELECT split_key, {expression} FROM (SELECT unnest($keys) AS split_key)", params | {"keys": keys}).fetchall()
    assert all(split == reference_split(seed, splits, key) for key, split in got)


def test_release_default_policy_file_is_the_model_default(tmp_path):
    assert load_policy(None) == ReleasePolicy()
    section = tmp_path / "pipeline.yaml"
    section.write_text("release:\n  include_ties: true\n  splits: {train: 1.0}\n")
    assert load_policy(section).include_ties is True
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"min_p_wrong_to_flip": 0.5, "min_p_wrong_to_drop": 0.9}))
    with pytest.raises(Exception, match="min_p_wrong_to_flip"):
        load_policy(bad)
    bad.write_text("min_noise_to_drop: 0.7\nmin_noise_to_flip: 0.9\n")  # an old policy file fails, naming the new fields
    with pytest.raises(Exception, match="min_noise_to_drop was renamed min_p_wrong_to_drop; min_noise_to_flip was renamed min_p_wrong_to_flip"):
        load_policy(bad)
    for share in ("half", 1.5, -0.1, True):
        bad.write_text(json.dumps({"max_drop_share": share}))
        with pytest.raises(Exception, match="max_drop_share must be 'auto', a number in \\[0, 1\\] or null"):
            load_policy(bad)
    assert ReleasePolicy(max_drop_share=0).max_drop_share == 0 and ReleasePolicy(max_drop_share=None).hash != ReleasePolicy().hash
    bad.write_text("splits: {train: 0.5}\n")
    with pytest.raises(Exception, match="sum to 1"):
        load_policy(bad)
    bad.write_text("threshold: 3\n")
    with pytest.raises(Exception, match="threshold"):
        load_policy(bad)


@pytest.mark.slow
def test_release_flow_releases_then_exports(wh, tmp_path, prefect_harness):
    from flows.release import release_flow

    run_ingest(wh, write_jsonl(tmp_path / "a.jsonl", [trl(prompt=f"f{i}") for i in range(5)]), detect_language=False)
    result = release_flow(str(wh.path), "flow-1", str(tmp_path / "out"), formats=["trl", "hub"],
                          policy={"splits": {"train": 1.0}})
    assert result["release"]["outcomes"]["keep"] == 5 and result["release"]["snapshot_id"] is not None
    assert [e["rows"] for e in result["exports"]] == [{"train": 5}, {"train": 5}]
    assert (tmp_path / "out" / "hub" / "data" / "train-00000-of-00001.parquet").exists()


def test_release_policy_stored_before_the_share_rule_reads_as_the_rules_it_applied():
    """A release stored with ``min_noise_to_*`` (no share cap, no judge requirement) is re-made by the same rules."""
    import json

    from curate.release.policy import ReleasePolicy

    stored = ReleasePolicy().model_dump(mode="json")
    for new in ("min_p_wrong_to_flip", "min_p_wrong_to_drop", "max_drop_share", "flip_requires_judge"):
        stored.pop(new)
    stored |= {"min_noise_to_flip": 0.95, "min_noise_to_drop": 0.8}
    stored.pop("human_weighting")
    policy = ReleasePolicy.from_stored(json.dumps(stored))
    assert (policy.min_p_wrong_to_flip, policy.min_p_wrong_to_drop) == (0.95, 0.8)
    assert policy.max_drop_share is None and policy.flip_requires_judge is False
    assert policy.human_weighting == "equal"  # stored before annotators were weighted: one vote each, as it was made


def test_release_policy_stored_before_annotators_were_weighted_counts_one_vote_each():
    stored = ReleasePolicy().model_dump(mode="json")
    stored.pop("human_weighting")
    assert ReleasePolicy.from_stored(json.dumps(stored)) == ReleasePolicy(human_weighting="equal")
    assert ReleasePolicy.from_stored(ReleasePolicy().canonical_json()) == ReleasePolicy()
