"""The noise stage on a real warehouse: coverage, appending with a latest view, the embedding cache, judge evidence, CLI and stats."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from typer.testing import CliRunner

from curate import embed, noise
from curate.cli import app
from curate.noise.rm import RMConfig
from curate.warehouse import Warehouse
from schemas import JUDGMENTS

SMALL_RM = {"members": 2, "epochs": 30, "folds": 3}
TOPICS = ["owls", "tea", "rain", "chess", "bread", "trains", "maps", "bees", "glass", "salt", "kites", "clocks"]


def _rows() -> list[dict]:
    """Helpful answers against dismissive ones; every third pair labeled the other way round."""
    rows = []
    for i, topic in enumerate(TOPICS * 2):
        good = f"Here is a clear, friendly explanation of {topic}, with an example{'.' if i < len(TOPICS) else ' and a tip.'}"
        bad = f"I can't help with {topic}, figure it out yourself{'.' if i < len(TOPICS) else ' for once.'}"
        chosen, rejected = (bad, good) if i % 3 == 0 else (good, bad)
        rows.append(trl(prompt=f"Can you tell me about {topic}? ({i})", chosen=chosen, rejected=rejected))
    return rows


def _config(tmp_path, **noise_section) -> str:
    import yaml

    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"noise": {"rm": SMALL_RM, **noise_section}}))
    return str(path)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A warehouse with the pairs ingested, then `curate noise` run twice through the CLI."""
    root = tmp_path_factory.mktemp("noise")
    wh = Warehouse.init(root / "wh")
    run_ingest(wh, write_jsonl(root / "pairs.jsonl", _rows()), detect_language=False)
    config = _config(root)
    runner = CliRunner(env={"COLUMNS": "200"})
    first = runner.invoke(app, ["noise", "-w", str(wh.path), "--config", config])
    after_first = wh.snapshot_of(query(wh, "SELECT max(run_id) FROM runs WHERE stage = 'noise'")[0][0])
    second = runner.invoke(app, ["noise", "-w", str(wh.path), "--config", config])
    return wh, first, second, after_first, config


def _coverage(wh: Warehouse, at: int | None = None) -> dict[str, tuple[int, int]]:
    rows = query(wh, "SELECT method, count(*), count(DISTINCT pair_id) FROM noise_scores_latest GROUP BY method", at=at)
    return {method: (n, distinct) for method, n, distinct in rows}


def test_noise_cli_scores_every_pair_and_prints_the_summary(scored):
    wh, first, second, _, _ = scored
    assert first.exit_code == 0, first.output
    assert "noise summary" in first.output and "likely_wrong" in first.output
    assert "24 pairs scored" in first.output


def test_noise_scores_cover_every_pair_once_per_method_after_one_and_two_runs(scored):
    wh, _, second, after_first, _ = scored
    assert second.exit_code == 0, second.output
    pairs = query(wh, "SELECT count(*) FROM pairs")[0][0]
    expected = {"bt", "ensemble", "peer", "confident", "dynamics", "fused"}
    for at in (after_first, None):
        coverage = _coverage(wh, at=at)
        assert set(coverage) == expected  # no judge or human rows without verdicts
        assert all(counts == (pairs, pairs) for counts in coverage.values()), coverage
    margins = dict(query(wh, "SELECT method, count(*) FROM rm_scores_latest GROUP BY method"))
    assert margins == {"bt": pairs, "ensemble": pairs * SMALL_RM["members"], "peer": pairs * 2}
    # the second run appended beside the first run's rows (nothing deleted); the latest views hold the second's
    runs = [r[0] for r in query(wh, "SELECT run_id FROM runs WHERE stage = 'noise' ORDER BY started_at")]
    assert [r[0] for r in query(wh, "SELECT DISTINCT run_id FROM noise_scores ORDER BY run_id")] == sorted(runs)
    assert len(query(wh, "SELECT DISTINCT run_id FROM noise_scores", at=after_first)) == 1
    assert query(wh, "SELECT count(*) FROM noise_scores") == [(2 * pairs * len(expected),)]
    assert dict(query(wh, "SELECT method, count(*) FROM rm_scores GROUP BY method")) == {m: 2 * n for m, n in margins.items()}
    for view in ("noise_scores_latest", "rm_scores_latest"):
        assert query(wh, f"SELECT DISTINCT run_id FROM {view}") == [(runs[-1],)]
    assert query(wh, "SELECT count(*), count(DISTINCT (pair_id, method)) FROM noise_scores_latest") == [(pairs * len(expected),) * 2]


def test_noise_second_run_embeds_nothing(scored):
    wh, first, second, _, _ = scored
    assert "0 cached" in first.output
    assert "embeddings: 0 embedded" in second.output
    counts = query(wh, "SELECT counts->'details'->>'embedded' FROM runs WHERE stage = 'embed' ORDER BY started_at")
    assert [int(c[0]) for c in counts][1:] == [0]


def test_noise_same_config_same_scores(scored):
    wh, *_ = scored
    runs = [r[0] for r in query(wh, "SELECT run_id FROM runs WHERE stage = 'noise' ORDER BY started_at")]
    snapshots = [wh.snapshot_of(r) for r in runs]
    sql = "SELECT pair_id, method, score FROM noise_scores_latest ORDER BY pair_id, method"
    assert query(wh, sql, at=snapshots[0]) == query(wh, sql, at=snapshots[1])


def test_noise_summary_in_stats_and_wide_view(scored):
    wh, *_ = scored
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["stats", "-w", str(wh.path)])
    assert result.exit_code == 0, result.output
    assert "noise scores" in result.output
    (pairs, classified), = query(wh, "SELECT count(*), count(ensemble_class) FROM noise_pair_scores")
    assert pairs == classified == 24
    summary = query(wh, "SELECT pairs, likely_wrong + ambiguous + strong FROM noise_summary")
    assert summary == [(24, 24)]


def test_noise_fused_components_carry_the_checks(scored):
    wh, *_ = scored
    keys = query(wh, "SELECT json_keys(components) FROM noise_scores_latest WHERE method = 'fused' LIMIT 1")[0][0]
    assert {"rm_log_odds", "length_diff", "near_identical", "response_cosine", "chosen_refusals", "rejected_refusals"} <= set(keys)
    refusals = query(wh, "SELECT sum(CAST(components->>'chosen_refusals' AS DOUBLE) + CAST(components->>'rejected_refusals' AS DOUBLE)) "
                         "FROM noise_scores_latest WHERE method = 'fused'")[0][0]
    assert refusals == 24  # each dismissive answer holds one marker ("i can't help")
    assert "i can't help" in noise.refusal_markers()


def test_noise_judge_verdicts_become_a_method_and_move_the_fused_score(scored, tmp_path):
    wh, *_ = scored
    pair_ids = [r[0] for r in query(wh, "SELECT pair_id FROM pairs ORDER BY pair_id LIMIT 2")]
    now = datetime.now(timezone.utc)
    rows = [{"pair_id": p, "judge": judge, "template": "pairwise", "template_hash": "t1", "attribute": "overall",
             "swapped": swapped, "sample": 0, "winner": "B" if swapped else "A", "verdict": "rejected", "status": "ok",
             "parse_attempts": 1, "run_id": "judge-test", "judged_at": now}
            for p in pair_ids[:1] for swapped in (False, True) for judge in ("test-judge", "other-judge")]
    with wh.transaction("judge-test", "planted judge verdicts") as tx:
        tx.append(JUDGMENTS, rows)
    cfg = noise.NoiseConfig(methods=["judge", "fused"], rm=RMConfig(**SMALL_RM), embedding=embed.EmbedConfig())
    noise.run(wh, cfg)
    judge = dict(query(wh, "SELECT pair_id, score FROM noise_scores_latest WHERE method = 'judge'"))
    assert judge[pair_ids[0]] == 1.0 and judge[pair_ids[1]] == 0.5
    assert len(judge) == 24
    llr = query(wh, "SELECT CAST(components->>'judge_llr' AS DOUBLE) FROM noise_scores_latest WHERE method = 'fused' AND pair_id = ?", [pair_ids[0]])
    assert llr[0][0] > 0
    details = json.loads(query(wh, "SELECT counts->'details' FROM runs WHERE stage = 'noise' ORDER BY finished_at DESC LIMIT 1")[0][0])
    assert set(details["reliabilities"]["fused"]) == {"label", "ensemble", "peer", "test-judge pairwise overall", "other-judge pairwise overall"}


def test_noise_reads_the_latest_annotation_versions_as_one_source_per_annotator(scored):
    from test_release import annotation, plant

    from schemas import ANNOTATION_TASKS, ANNOTATIONS

    wh, *_ = scored
    pair_ids = [r[0] for r in query(wh, "SELECT pair_id FROM pairs ORDER BY pair_id LIMIT 3")]
    first, second, third = pair_ids
    plant(wh, ANNOTATION_TASKS, [{"batch_id": "b1", "pair_id": p, "task_id": i, "left_is_chosen": True, "route_reason": reason,
                                  "run_id": "b1"} for i, (p, reason) in enumerate([(first, "audit"), (second, "likely_wrong")])])
    plant(wh, ANNOTATIONS, [annotation(first, "ann", "rejected", batch_id="b1"), annotation(second, "ann", "rejected", batch_id="b1"),
                            annotation(second, "bob", "chosen", batch_id="b1"), annotation(third, "bob", "tie")])
    plant(wh, ANNOTATIONS, [annotation(first, "ann", "chosen", version=2, batch_id="b1")])  # edited after a pull: v2 counts
    cfg = noise.NoiseConfig(methods=["human", "fused"], rm=RMConfig(**SMALL_RM), embedding=embed.EmbedConfig())
    result = noise.run(wh, cfg)
    human = dict(query(wh, "SELECT pair_id, score FROM noise_scores_latest WHERE method = 'human'"))
    assert (human[first], human[second], human[third]) == (0.0, 0.5, 0.5)  # pooled share against the label, as before
    assert len(human) == 24
    details = result.details
    assert {"human:ann", "human:bob"} <= set(details["reliabilities"]["fused"])
    assert details["human_pairs"] == 3 and details["audit_pairs"] == 1
    assert details["anchors"]["fused"] == {"rm_scale": pytest.approx(details["anchors"]["fused"]["rm_scale"]),
                                           "verified_pairs": 3, "audit_pairs": 1}
    llr = dict(query(wh, "SELECT pair_id, CAST(components->>'human_llr' AS DOUBLE) FROM noise_scores_latest WHERE method = 'fused'"))
    assert llr[first] < 0 and llr[third] == 0  # ann's edited verdict is for the label; a tie says nothing either way


def test_noise_without_embeddings_fails_with_a_hint(wh, tmp_path):
    run_ingest(wh, write_jsonl(tmp_path / "p.jsonl", _rows()[:3]), detect_language=False)
    with pytest.raises(embed.EmbeddingsMissing, match="curate embed"):
        noise.run(wh, noise.NoiseConfig(rm=RMConfig(**SMALL_RM)))


def test_noise_unknown_method_is_a_usage_error(scored):
    wh, *_ = scored
    result = CliRunner().invoke(app, ["noise", "-w", str(wh.path), "--method", "astrology"])
    assert result.exit_code == 2
    assert "astrology" in result.output


def test_noise_run_details_carry_the_estimated_reliabilities(scored):
    wh, *_ = scored
    details = query(wh, "SELECT counts->'details' FROM runs WHERE stage = 'noise' ORDER BY started_at LIMIT 1")[0][0]  # a CLI run
    details = json.loads(details) if isinstance(details, str) else details
    reliabilities = details["reliabilities"]["fused"]
    assert set(reliabilities) == {"label", "ensemble", "peer"}  # the default reward-model sources; no judge or human verdicts yet
    assert sum(details["fusion_weights"]["fused"].values()) == pytest.approx(1.0)
    assert reliabilities["label"] == pytest.approx(1 - details["noise_rate"]["fused"])


def test_noise_reliabilities_view_lists_each_run_estimate_and_stats_shows_it(scored):
    wh, *_ = scored
    runs = query(wh, "SELECT run_id, counts FROM runs WHERE stage = 'noise' ORDER BY started_at")
    rows = query(wh, "SELECT run_id, annotator, reliability, weight FROM noise_reliabilities ORDER BY finished_at, annotator")
    expected = []
    for run_id, counts in runs:
        counts = json.loads(counts) if isinstance(counts, str) else counts
        details = counts["details"]
        weights = details["fusion_weights"]["fused"]
        expected += sorted((run_id, name, round(value, 4), weights.get(name) and round(weights[name], 4))
                           for name, value in details["reliabilities"]["fused"].items())
    assert [(r, a, pytest.approx(v, abs=1e-4), w if w is None else pytest.approx(w, abs=1e-4)) for r, a, v, w in rows] == expected
    assert len(runs) >= 2 and {a for _, a, *_ in rows} >= {"label"}
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["stats", "-w", str(wh.path)])
    assert shown.exit_code == 0, shown.output
    assert "estimated reliabilities" in shown.output


def test_noise_release_card_states_the_estimated_reliabilities(scored):
    """After real noise runs, a default release's card carries the last run's reliabilities, as the view has them."""
    from curate import release
    from curate.publish import card, facts

    wh, *_ = scored
    release.run(wh, release.ReleaseConfig(name="reliable"))
    shown = facts.collect(wh, "reliable").reliabilities
    latest = query(wh, "SELECT annotator, reliability, weight FROM noise_reliabilities WHERE run_id = "
                       "(SELECT run_id FROM noise_reliabilities ORDER BY finished_at DESC LIMIT 1) ORDER BY annotator")
    assert [tuple(r) for r in shown.rows] == latest and ("label",) in {r[:1] for r in latest}
    text = card.render(facts.collect(wh, "reliable"), card.CardConfig())
    label = {a: r for a, r, _ in latest}["label"]
    assert "Estimated reliabilities" in text and f"| label | {label}" in text
