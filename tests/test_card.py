"""The dataset card: Hub metadata that parses offline, a body that says what the policy did, plots that exist."""

from __future__ import annotations

import re

import pytest
from huggingface_hub import DatasetCard
from release_builders import shared_releases
from typer.testing import CliRunner

from curate.publish import card
from curate.publish import plots
from curate.cli import app
from curate.publish.facts import collect


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    return shared_releases(tmp_path_factory)[0]


def test_card_metadata_parses_with_huggingface_hub(wh, tmp_path):
    path = card.write(wh, "v1", tmp_path, card.CardConfig(license="cc-by-4.0", pretty_name="Test prefs"))
    data = DatasetCard.load(path).data
    assert data.license == "cc-by-4.0" and data.language == ["en"] and data.pretty_name == "Test prefs"
    assert {"preference", "rlhf", "reward-modeling", "dpo"} <= set(data.tags)
    assert data.task_categories == ["text-classification", "reinforcement-learning"]
    assert data.size_categories == ["n<1K"]
    assert data.annotations_creators == ["machine-generated"] and data.source_datasets == ["original"]
    splits = [r[0] for r in collect(wh, "v1").splits.rows]
    assert "train" in splits and "test" in splits
    assert [(f["split"], f["path"]) for f in data.configs[0]["data_files"]] == [(s, f"data/{s}-*") for s in splits]


def test_card_body_says_what_the_policy_flipped_and_dropped_and_embeds_plots(wh, tmp_path):
    text = card.write(wh, "v1", tmp_path, card.CardConfig(license="mit")).read_text()
    # per rule: pairs, scored pairs, estimated precision (mean P(wrong) of what it flipped or dropped), mean score
    assert "| flip | noise_flip | 2 | 2 | 0.95 | 0.95 |" in text and "| drop | noise_drop | 3 | 3 | 0.8 | 0.8 |" in text
    assert "| keep | kept | 55 | 55 | 0.9 | 0.1 |" in text  # 1 - mean P(wrong): the kept labels expected right
    assert "Kept 55, flipped 2 and dropped 3 of 60 candidate pairs." in text
    assert "127.0.0.1/smollm2-135m" in text and "a1b2c3d4" in text  # judge model and template version
    assert "embedded plumbing default" in text  # the limitation the SmolLM judge calls for
    assert "| fused | 60 |" in text  # noise summary over every candidate
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(images) == sorted(f"plots/{name}.png" for name in plots.PLOTS)
    for image in images:
        assert (tmp_path / image).read_bytes().startswith(b"\x89PNG")


def test_card_of_a_release_made_before_any_evidence_says_what_is_missing(wh):
    facts = collect(wh, "bare")  # evidence landed after this release's snapshot: it must not show
    assert not facts.noise and not facts.judges and not facts.noise_by_decision
    assert facts.decisions.rows == (("keep", "unscored", 60, 0, None, None),)
    text = card.render(facts, card.CardConfig())
    assert "No noise scores were recorded" in text and "No judge verdicts were recorded" in text
    assert "**none set**" in text  # no license anywhere: the card says so (publish refuses)
    assert all(png.startswith(b"\x89PNG") for png in plots.render_all(facts).values())


def test_card_source_licenses_come_from_the_config_then_the_known_map(wh):
    facts = collect(wh, "v1")
    rows = card.source_rows(facts, card.CardConfig())
    assert [(r.source, r.license) for r in rows] == [("prefs", None)]
    assert "No license is known for these sources: prefs" in " ".join(card.limitations(facts, card.CardConfig(), rows))
    custom = card.CardConfig(sources=[card.SourceEntry(match=["pre*"], license="cc0-1.0", dataset="org/prefs")])
    assert [(r.license, r.dataset) for r in card.source_rows(facts, custom)] == [("cc0-1.0", "org/prefs")]
    assert card.metadata(facts, custom).source_datasets == ["org/prefs"]
    known = {e.dataset: e.license for e in card.known_sources() if e.dataset}
    assert known["Anthropic/hh-rlhf"] == "mit" and known["nvidia/HelpSteer2"] == "cc-by-4.0"


@pytest.mark.parametrize(("n", "bucket"), [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (2_312, "1K<n<10K"), (1_000_000, "1M<n<10M")])
def test_card_size_category(n, bucket):
    assert card.size_category(n) == bucket


def test_cli_card_writes_and_checks_the_card(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["card", "v1", "--out", str(tmp_path), "--license", "cc-by-4.0", "--warehouse", str(wh.path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "license cc-by-4.0" in result.output and (tmp_path / "plots" / "length_bias.png").exists()
    assert DatasetCard.load(tmp_path / "README.md").data.license == "cc-by-4.0"


def test_card_human_verification_of_a_release_nobody_verified(wh):
    facts = collect(wh, "v1")
    assert not facts.humans and not facts.human_alpha and not facts.human_audit
    assert "## Human verification" in card.render(facts, card.CardConfig()) and "No pair of this release was verified by people" \
        in card.render(facts, card.CardConfig())


def test_card_human_verification_counts_overrides_judge_disagreements_alpha_and_the_audit(tmp_path):
    """Two annotators on four pairs (three of them audited): the card says what their verdicts did, how far they agreed
    and what the audit measured; without the agreement views' rows those lines are left out."""
    from dataclasses import replace

    from conftest import query, run_ingest, trl, write_jsonl
    from test_release import against, annotation, judgment, plant

    from curate import release
    from curate.warehouse import Warehouse
    from schemas import ANNOTATION_TASKS, ANNOTATIONS, JUDGMENTS

    wh = Warehouse.init(tmp_path / "wh")
    run_ingest(wh, write_jsonl(tmp_path / "h.jsonl", [trl(prompt=f"h{i}", chosen=f"good {i}", rejected=f"bad {i}") for i in range(6)]),
               detect_language=False)
    ids = dict(query(wh, "SELECT prompt[1].content, pair_id FROM pairs"))
    votes = {"h0": ("chosen", "chosen"), "h1": ("rejected", "rejected"), "h2": ("tie", "tie"), "h3": ("chosen", "rejected")}
    plant(wh, ANNOTATION_TASKS, [{"batch_id": "b1", "pair_id": ids[p], "task_id": i, "left_is_chosen": True,
                                  "route_reason": "audit" if p != "h3" else "uncertain", "run_id": "b1"} for i, p in enumerate(votes)])
    plant(wh, ANNOTATIONS, [annotation(ids[p], who, v, batch_id="b1") for p, pair in votes.items() for who, v in zip(("a", "b"), pair)])
    plant(wh, JUDGMENTS, [*against(ids["h0"]), judgment(ids["h1"], False, "rejected"), judgment(ids["h1"], True, "rejected")])
    release.run(wh, release.ReleaseConfig(name="verified"))
    facts = collect(wh, "verified")
    counts = dict(facts.humans.rows)
    assert counts == {"verified by people": 4, "label confirmed (kept)": 1, "label overruled: flipped": 1,
                      "label overruled: dropped as a tie": 1, "dropped: annotators split": 1,
                      "people disagreed with the judges": 1, "people agreed with the judges": 1}
    text = card.render(facts, card.CardConfig())
    assert "| verified by people | 4 |" in text and "| people disagreed with the judges | 1 |" in text
    assert facts.human_alpha and "Krippendorff's alpha, over" in text
    assert facts.human_audit.rows[0][:2] == (3, 1)  # 3 audited pairs; the label wrong on h1 (a tie verdict is no preference)
    assert "On the audit sample (3 pairs drawn uniformly at random), people found 33.3% (95% interval" in text
    assert "the judges wrong on 50.0% (95% interval" in text
    bare = card.render(replace(facts, human_alpha=replace(facts.human_alpha, rows=()), human_audit=replace(facts.human_audit, rows=())),
                       card.CardConfig())
    assert "| verified by people | 4 |" in bare and "Krippendorff" not in bare and "audit sample" not in bare
