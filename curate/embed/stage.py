"""Embed: one vector per distinct text of every pair (prompt, chosen, rejected), cached forever.

The cache is the ``embeddings`` table, keyed by (model identity, content hash):
responses by ``chosen_hash``/``rejected_hash``, prompts by ``prompt_id``. A run
anti-joins the texts of ``pairs`` against the cache in SQL, so only texts not yet
embedded for this model identity are read and encoded, each once however many
pairs share it. They stream through in chunks (memory stays bounded by one chunk),
each chunk is appended as its own file, and the run commits as one snapshot.

The model identity (``features.model_id``) is the model name plus the backend when
that is not plain fp32 torch: int8 vectors are close to fp32 ones, not equal, and
must not be mixed with them in one feature matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from curate.embed import encoders, features
from curate.embed.config import EmbedConfig
from curate.embed.encoders import render_prompt
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse
from schemas import EMBEDDINGS, PAIRS

STAGE = "embed"
READS = (PAIRS,)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""

_MISSING_SQL = f"""
WITH texts AS (
    SELECT chosen_hash AS content_hash, chosen.content AS text, NULL AS prompt FROM {PAIRS.name}
    UNION ALL SELECT rejected_hash, rejected.content, NULL FROM {PAIRS.name}
    UNION ALL SELECT prompt_id, NULL, prompt FROM {PAIRS.name}
)
SELECT content_hash, any_value(text) AS text, any_value(prompt) AS prompt
FROM texts ANTI JOIN (SELECT content_hash FROM {EMBEDDINGS.name} WHERE model = $model) USING (content_hash)
GROUP BY content_hash ORDER BY content_hash
"""
_DISTINCT_SQL = f"""
SELECT count(DISTINCT h) FROM (
    SELECT chosen_hash AS h FROM {PAIRS.name} UNION ALL SELECT rejected_hash FROM {PAIRS.name}
    UNION ALL SELECT prompt_id FROM {PAIRS.name})
"""


def run(wh: Warehouse, cfg: EmbedConfig, progress: Callable[[int, int], None] | None = None) -> StageResult:
    """Embed every text of every pair not yet in ``embeddings`` for ``model_id(cfg)``, as one snapshot.

    ``progress(advance, total)`` is called once with ``(0, total)``, then after each batch of texts."""
    ident = features.model_id(cfg)
    encoders.resolve_model(cfg.model, allow_download=cfg.allow_download)  # a bad model fails before any work
    run = StageRun.start(wh, STAGE, cfg, reads=READS)

    def write(tx: Transaction) -> Counts:
        distinct = tx.execute(_DISTINCT_SQL).fetchone()[0]
        missing = tx.execute(f"SELECT count(*) FROM ({_MISSING_SQL})", {"model": ident}).fetchone()[0]
        if progress:
            progress(0, missing)
        details = {"model": ident, "texts": distinct, "cached": distinct - missing, "embedded": 0, "prompts": 0, "responses": 0}
        if missing:
            encoder = features.encoder(cfg)
            reader = tx.con.execute(_MISSING_SQL, {"model": ident}).fetch_record_batch(cfg.chunk_size)
            tick = (lambda n: progress(n, missing)) if progress else None
            for chunk in _chunks(reader, cfg.chunk_size):
                tx.append(EMBEDDINGS, _embed_chunk(chunk, encoder, cfg, ident, run.run_id, tick, details))
        return Counts(rows_in=distinct, rows_written=details["embedded"],
                      outcomes={"cached": details["cached"], "embedded": details["embedded"]}, details=details)

    return run.commit(wh, write, message=f"embed model={ident}")


def _chunks(reader: pa.RecordBatchReader, size: int):
    """Record batches regrouped to ``size`` rows (DuckDB may hand back smaller ones)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= size:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if rows:
        yield pa.Table.from_batches(pending)


def _embed_chunk(chunk: pa.Table, encoder: encoders.Encoder, cfg: EmbedConfig, ident: str, run_id: str, tick,
                 details: dict) -> list[dict]:
    """The embedding rows of one chunk of texts; adds what it encoded to ``details``."""
    hashes = chunk["content_hash"].to_pylist()
    texts = [text if text is not None else render_prompt(prompt or [])
             for text, prompt in zip(chunk["text"].to_pylist(), chunk["prompt"].to_pylist())]
    prompts = chunk["prompt"].null_count
    details["prompts"] += chunk.num_rows - prompts
    details["responses"] += prompts
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths per batch: less padding
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    for start in range(0, len(order), cfg.batch_size):
        index = order[start:start + cfg.batch_size]
        vectors[index] = encoder.encode([texts[i] for i in index], cfg.batch_size)
        if tick:
            tick(len(index))
    details["embedded"] += len(texts)
    now = utcnow()
    return [{"model": ident, "content_hash": h, "dim": encoder.dim, "vector": v, "run_id": run_id, "created_at": now}
            for h, v in zip(hashes, vectors.tolist())]
