"""Exports: TRL, OpenRLHF, JSONL and Hub shards, read back with `datasets`; frozen at the release snapshot."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate import release
from curate.release import ExportConfig, ReleaseConfig, export
from curate.release.policy import ReleasePolicy
from curate.stage import new_run_id
from curate.warehouse import Warehouse
from schemas import NOISE_SCORES

TRL_COLUMNS = ["prompt", "chosen", "rejected", "margin", "preference", "weight", "pair_id", "source", "language"]
MULTI_TURN = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Wie spät ist es? ✓"}]


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> tuple[Warehouse, dict[str, str]]:
    """40 pairs (one multi-turn, non-ASCII) with one flip and one drop by noise score; release 'r1' with weights."""
    tmp = tmp_path_factory.mktemp("export")
    wh = Warehouse.init(tmp / "wh")
    rows = [trl(prompt=f"question {i}", chosen=f"right {i}", rejected=f"wrong {i}", strength=1 + i % 3, language="en")
            for i in range(39)]
    rows.append({"prompt": MULTI_TURN, "chosen": [{"role": "assistant", "content": "Es ist 12 Uhr."}],
                 "rejected": [{"role": "assistant", "content": "Keine Ahnung."}], "language": "de"})
    run_ingest(wh, write_jsonl(tmp / "src.jsonl", rows), detect_language=False)
    ids = dict(query(wh, "SELECT prompt[-1].content, pair_id FROM pairs"))
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    scores = {"question 0": 0.95, "question 1": 0.8, "question 2": 0.25}
    with wh.transaction(new_run_id("plant"), "plant noise") as tx:
        tx.append(NOISE_SCORES, [{"pair_id": ids[p], "method": "fused", "score": s, "components": "{}", "run_id": "n",
                                  "created_at": now} for p, s in scores.items()])
    rules = {"max_drop_share": None, "flip_requires_judge": False}  # thresholds alone on the planted scores
    release.run(wh, ReleaseConfig(name="r1", policy=ReleasePolicy(weight_source="noise", splits={"train": 0.7, "test": 0.3}, **rules)))
    return wh, ids


def run_export(wh: Warehouse, name: str, fmt: str, out: Path, **options) -> SimpleNamespace:
    """``export.run`` of one config, its details as attributes: rows and files (paths) per split, and all files."""
    details = export.run(wh, ExportConfig(release=name, format=fmt, out_dir=str(out), **options)).details
    split_files = {split: [Path(p) for p in paths] for split, paths in details["files"].items()}
    return SimpleNamespace(rows=details["rows"], split_files=split_files, files=[p for ps in split_files.values() for p in ps])


def load(kind: str, files: dict, tmp_path):
    import datasets

    return datasets.load_dataset(kind, data_files={k: [str(p) for p in v] for k, v in files.items()}, cache_dir=str(tmp_path / "cache"))


def test_export_trl_round_trips_through_datasets_with_trl_columns(released, tmp_path):
    wh, ids = released
    result = run_export(wh, "r1", "trl", tmp_path / "trl")
    assert sorted(p.name for p in result.files) == ["test.parquet", "train.parquet"]
    assert sum(result.rows.values()) == 39  # 40 pairs, one dropped
    data = load("parquet", result.split_files, tmp_path)
    assert {k: v.num_rows for k, v in data.items()} == result.rows
    train = data["train"]
    assert train.column_names == TRL_COLUMNS
    assert train.features["margin"].dtype == "float64" and train.features["weight"].dtype == "float64"
    rows = {r["pair_id"]: r for split in data.values() for r in split}
    flipped = rows[ids["question 0"]]
    assert flipped["chosen"] == [{"role": "assistant", "content": "wrong 0"}]
    assert flipped["rejected"] == [{"role": "assistant", "content": "right 0"}]
    assert flipped["prompt"] == [{"role": "user", "content": "question 0"}]
    assert flipped["weight"] == pytest.approx(0.95) and flipped["margin"] == 0.0
    kept = rows[ids["question 2"]]
    assert kept["chosen"][0]["content"] == "right 2" and kept["margin"] == 3.0 and kept["weight"] == pytest.approx(0.75)
    assert rows[ids["Wie spät ist es? ✓"]]["prompt"] == MULTI_TURN
    assert ids["question 1"] not in rows  # dropped


def test_export_openrlhf_layout_is_prompt_plus_one_message_conversations(released, tmp_path):
    wh, ids = released
    result = run_export(wh, "r1", "openrlhf", tmp_path / "orl")
    data = load("json", result.split_files, tmp_path)
    assert set(data["train"].column_names) == {"prompt", "chosen", "rejected", "margin", "preference", "pair_id"}
    for row in (r for split in data.values() for r in split):
        # what OpenRLHF's reward dataset does with --prompt_key prompt --apply_chat_template
        for side in ("chosen", "rejected"):
            conversation = row["prompt"] + row[side]
            assert conversation[-1]["role"] == "assistant" and conversation[-2]["role"] == "user"
        assert isinstance(row["margin"], float)
    text = (tmp_path / "orl" / f"{_split_of(result, ids['Wie spät ist es? ✓'])}.jsonl").read_text(encoding="utf-8")
    assert "Wie spät ist es? ✓" in text or "Wie sp\\u00e4t" in text


def _split_of(result, pair_id: str) -> str:
    for split, paths in result.split_files.items():
        if pair_id in "".join(p.read_text(encoding="utf-8") for p in paths):
            return split
    raise AssertionError(pair_id)


def test_export_jsonl_has_every_release_column(released, tmp_path):
    wh, ids = released
    result = run_export(wh, "r1", "jsonl", tmp_path / "plain")
    lines = [json.loads(line) for p in result.files for line in p.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 39
    by_id = {r["pair_id"]: r for r in lines}
    assert by_id[ids["question 0"]]["decision"] == "flip" and by_id[ids["question 0"]]["reason"] == "noise_flip"
    assert set(lines[0]) >= {"split", "decision", "reason", "margin", "weight", "prompt", "chosen", "rejected", "kind", "tie"}


def test_export_hub_shards_load_as_a_dataset_folder(released, tmp_path):
    import datasets

    wh, _ = released
    out = tmp_path / "hub"
    result = run_export(wh, "r1", "hub", out, max_shard_bytes=400)
    names = sorted(p.name for p in (out / "data").iterdir())
    assert names == sorted(p.name for p in result.files)
    train = [n for n in names if n.startswith("train-")]
    assert len(train) > 1 and all(n.endswith(f"-of-{len(train):05d}.parquet") for n in train)
    assert train[0] == f"train-00000-of-{len(train):05d}.parquet"
    data = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert set(data) == {"train", "test"}
    assert {k: v.num_rows for k, v in data.items()} == result.rows
    assert data["train"].column_names == TRL_COLUMNS
    assert len(set(data["train"]["pair_id"])) == data["train"].num_rows  # shards do not overlap


def test_export_is_frozen_at_the_release_snapshot(released, tmp_path):
    wh, _ = released
    before = run_export(wh, "r1", "trl", tmp_path / "before")
    run_ingest(wh, write_jsonl(tmp_path / "later.jsonl", [trl(prompt=f"later {i}") for i in range(3)]), detect_language=False)
    after = run_export(wh, "r1", "trl", tmp_path / "after")
    assert after.rows == before.rows
    for split in before.rows:
        assert pq.read_table(before.split_files[split][0]).equals(pq.read_table(after.split_files[split][0]))


def test_export_refuses_to_mix_exports_and_unknown_formats(released, tmp_path):
    wh, _ = released
    run_export(wh, "r1", "openrlhf", tmp_path / "x")
    with pytest.raises(export.ExportError, match="already exist"):
        run_export(wh, "r1", "openrlhf", tmp_path / "x")
    again = run_export(wh, "r1", "openrlhf", tmp_path / "x", overwrite=True)
    assert sum(again.rows.values()) == 39
    with pytest.raises(export.ExportError, match="unknown export format 'csv'"):
        run_export(wh, "r1", "csv", tmp_path / "y")
    with pytest.raises(release.UnknownRelease):
        run_export(wh, "nope", "trl", tmp_path / "z")
