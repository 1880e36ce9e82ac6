"""Embed: each distinct text embedded once per model identity, features in pair order, the fast backend close to fp32."""

from __future__ import annotations

import json
import os
from typing import get_args

import numpy as np
import pytest
from conftest import query, run_ingest, trl, write_jsonl
from typer.testing import CliRunner

from curate import assets, embed, threads
from curate.cli import app
from curate.embed import EmbedConfig, EmbeddingsMissing, ModelNotFound, model_id, pair_features
from curate.embed.encoders import BACKENDS, default_backend, render_prompt
from curate.warehouse import Warehouse

TORCH = EmbedConfig(backend="torch")
FAST = EmbedConfig()  # the default backend

CHAT = [{"role": "user", "content": "Tell me about owls."}, {"role": "assistant", "content": "Owls are birds."},
        {"role": "user", "content": "Do they hunt at night?"}]
ROWS = [
    trl(prompt="What is 2+2?", chosen="It is 4.", rejected="It is 5."),
    trl(prompt="What is 2+2?", chosen="It is 4.", rejected="Four, probably."),  # prompt and chosen shared
    trl(prompt="Name a color.", chosen="Blue.", rejected="It is 5."),  # a response shared across prompts
    {"prompt": CHAT, "chosen": [{"role": "assistant", "content": "Yes, mostly."}],
     "rejected": [{"role": "assistant", "content": "Owls are fish."}]},
]
DISTINCT_TEXTS = 3 + 6  # prompts: 2+2, color, owls; responses: 4, 5, Four, Blue, Yes, fish


@pytest.fixture
def small(wh, tmp_path):
    run_ingest(wh, write_jsonl(tmp_path / "pairs.jsonl", ROWS), detect_language=False)
    return wh


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """One warehouse with ROWS ingested and embedded by torch fp32, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("embedded")
    wh = Warehouse.init(root / "wh")
    run_ingest(wh, write_jsonl(root / "pairs.jsonl", ROWS), detect_language=False)
    embed.run(wh, TORCH)
    return wh


def test_embed_run_embeds_each_distinct_text_once_and_a_second_run_embeds_nothing(small):
    first = embed.run(small, TORCH)
    assert (first.rows_in, first.rows_written) == (DISTINCT_TEXTS, DISTINCT_TEXTS)
    assert first.outcomes == {"cached": 0, "embedded": DISTINCT_TEXTS}
    rows = query(small, "select count(*), count(distinct content_hash), min(dim), max(dim), any_value(model) from embeddings")
    assert rows == [(DISTINCT_TEXTS, DISTINCT_TEXTS, 384, 384, model_id(TORCH))]
    counts = json.loads(query(small, "select counts from runs where run_id = ?", [first.run_id])[0][0])
    assert (counts["details"]["prompts"], counts["details"]["responses"]) == (3, 6)

    second = embed.run(small, TORCH)
    assert second.rows_written == 0 and second.outcomes == {"cached": DISTINCT_TEXTS, "embedded": 0}
    assert query(small, "select count(*) from embeddings") == [(DISTINCT_TEXTS,)]
    assert second.snapshot_id > first.snapshot_id  # the run itself is still recorded


def test_embed_new_pairs_embed_only_their_new_texts(small, tmp_path):
    embed.run(small, TORCH)
    run_ingest(small, write_jsonl(tmp_path / "more.jsonl", [trl(prompt="Name a color.", chosen="Blue.", rejected="Red.")]),
               detect_language=False)
    assert embed.run(small, TORCH).rows_written == 1  # only "Red." is new


def test_embed_pair_features_follow_the_requested_order(embedded):
    every = pair_features(embedded, TORCH)
    ids = [r[0] for r in query(embedded, "select pair_id from pairs order by pair_id")]
    assert every.pair_ids == ids and every.prompt.shape == every.chosen.shape == every.rejected.shape == (4, 384)
    assert every.prompt.dtype == np.float32

    wanted = ids[::-1] + ids[:1]
    some = pair_features(embedded, TORCH, wanted)
    assert some.pair_ids == wanted
    np.testing.assert_array_equal(some.chosen[: len(ids)], every.chosen[::-1])
    np.testing.assert_array_equal(some.rejected[-1], every.rejected[0])

    (owls,) = query(embedded, "select pair_id, chosen.content from pairs where len(prompt) = 3")
    row = every.pair_ids.index(owls[0])
    expected = embed.encode([render_prompt(CHAT), owls[1]], TORCH)
    np.testing.assert_allclose(every.prompt[row], expected[0], atol=1e-5)
    np.testing.assert_allclose(every.chosen[row], expected[1], atol=1e-5)


def test_embed_pair_features_name_the_missing_count(embedded):
    other = EmbedConfig(backend="onnx-int8")  # another model identity: nothing embedded for it (and nothing loaded)
    with pytest.raises(EmbeddingsMissing, match=r"4 of 4 pairs lack embeddings .*curate embed"):
        pair_features(embedded, other)
    with pytest.raises(EmbeddingsMissing, match="1 of 2 requested pair ids are not in pairs"):
        pair_features(embedded, TORCH, [pair_features(embedded, TORCH).pair_ids[0], "no-such-pair"])


def test_embed_is_deterministic(embedded, small):
    texts = ["The same text twice.", "Another one, a little longer than the first."] * 3
    np.testing.assert_array_equal(embed.encode(texts, TORCH), embed.encode(texts, TORCH))
    embed.run(small, TORCH)
    first, second = pair_features(embedded, TORCH), pair_features(small, TORCH)
    assert first.pair_ids == second.pair_ids
    np.testing.assert_allclose(first.prompt, second.prompt, atol=1e-6)
    np.testing.assert_allclose(first.rejected, second.rejected, atol=1e-6)


def test_embed_handles_empty_and_huge_texts():
    vectors = embed.encode(["", "word " * 200_000, "short"], FAST)
    assert vectors.shape == (3, 384) and np.isfinite(vectors).all()
    assert embed.encode([], TORCH).shape == (0, 384)


def test_embed_fast_backend_stays_within_cosine_099_of_fp32():
    texts = _example_texts()
    assert len(texts) >= 40
    reference, fast = embed.encode(texts, TORCH), embed.encode(texts, FAST)
    cosine = np.sum(reference * fast, axis=1) / (np.linalg.norm(reference, axis=1) * np.linalg.norm(fast, axis=1))
    assert cosine.min() >= 0.99, (cosine.min(), texts[int(cosine.argmin())][:80])
    assert model_id(FAST) != model_id(TORCH)  # the fast backend's vectors never mix with fp32 ones in the cache


def test_embed_config_offers_exactly_the_encoder_backends():
    assert set(get_args(EmbedConfig.model_fields["backend"].annotation)) == {"auto", *BACKENDS}
    assert EmbedConfig().backend in BACKENDS  # auto is resolved to what this machine runs
    assert EmbedConfig().backend == default_backend()


def test_thread_caps_never_exceed_the_cores_this_process_may_use(monkeypatch):
    import onnxruntime as ort
    import torch

    cores = len(os.sched_getaffinity(0))
    assert threads.cores() == cores
    assert threads.capped() == threads.capped(10_000) == cores and threads.capped(1) == 1
    options = threads.cap_onnxruntime(ort.SessionOptions(), 10_000)
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (cores, 1)
    before = torch.get_num_threads()
    try:
        assert threads.cap_torch(10_000) == torch.get_num_threads() == cores
    finally:
        torch.set_num_threads(before)
    monkeypatch.delenv(threads.TOKENIZER_ENV, raising=False)
    threads.cap_tokenizers()
    assert os.environ[threads.TOKENIZER_ENV] == str(cores)
    monkeypatch.setenv(threads.TOKENIZER_ENV, "1")
    threads.cap_tokenizers()
    assert os.environ[threads.TOKENIZER_ENV] == "1"  # a setting the user made stays


def test_embed_render_prompt_puts_the_last_user_turn_first():
    assert render_prompt(CHAT) == "Do they hunt at night?\n\nOwls are birds.\n\nTell me about owls."
    assert render_prompt([{"role": "user", "content": "Hi"}]) == "Hi"


def test_embed_unknown_model_path_fails_clearly(wh, tmp_path):
    missing = tmp_path / "no-model-here"
    with pytest.raises(ModelNotFound, match="no embedding model at"):
        embed.run(wh, EmbedConfig(model=str(missing), backend="torch"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="not a model"):
        embed.encode(["x"], EmbedConfig(model=str(tmp_path / "empty"), backend="torch"))
    assert query(wh, "select count(*) from embeddings") == [(0,)]


def test_embed_cli_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    path = write_jsonl(tmp_path / "pairs.jsonl", ROWS)
    assert runner.invoke(app, ["ingest", str(path), "--no-detect-language"]).exit_code == 0
    result = runner.invoke(app, ["embed", "--backend", "torch", "--batch-size", "4"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"{DISTINCT_TEXTS} distinct texts: {DISTINCT_TEXTS} embedded" in result.output
    again = runner.invoke(app, ["embed", "--backend", "torch"], catch_exceptions=False)
    assert f"0 embedded, {DISTINCT_TEXTS} already cached" in again.output
    stats = runner.invoke(app, ["stats"], catch_exceptions=False)
    assert "embeddings by model" in stats.output and model_id(TORCH) in stats.output
    bad = runner.invoke(app, ["embed", "--model", str(tmp_path / "nope")], catch_exceptions=False)
    assert bad.exit_code == 2 and "no embedding model at" in bad.output


def _example_texts() -> list[str]:
    """Every prompt and response string in the built-in demo examples (several languages, multi-turn, HH)."""
    texts: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, str) and len(value) > 1:
            texts.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in assets.path("examples/demo").iterdir():
        if path.name.endswith(".jsonl"):
            for line in path.read_text(errors="replace").splitlines():
                try:
                    walk(json.loads(line))
                except ValueError:
                    continue
    return sorted(texts)
