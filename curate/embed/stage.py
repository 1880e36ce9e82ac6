"""Embed: one vector per distinct text of every pair (prompt, chosen, rejected), cached forever.

The cache is the ``embeddings`` table, keyed by (model identity, content hash):
responses by ``chosen_hash``/``rejected_hash``, prompts by ``prompt_id``. A run
anti-joins the texts of ``pairs`` against the cache in SQL, so only texts not yet
embedded for this model identity are read and encoded, each once however many
pairs share it. They stream through in chunks (memory stays bounded by one chunk),
each chunk is appended as its own file, and the run commits as one snapshot.

The model identity (``model_id``) is the model name plus the backend when that
is not plain fp32 torch: int8 vectors are close to fp32 ones, not equal, and must
not be mixed with them in one feature matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.embed import encoders
from curate.embed.config import EmbedConfig
from curate.embed.encoders import DEFAULT_MODEL, ModelNotFound, render_prompt
from curate.errors import CurateError, Terminal
from curate.stage import StageResult, new_run_id, utcnow
from curate.warehouse import Warehouse, retry_on_conflict
from schemas import EMBEDDINGS, RUNS

STAGE = "embed"
__all__ = ["DEFAULT_MODEL", "STAGE", "EmbedConfig", "EmbeddingsMissing", "ModelNotFound", "PairFeatures",
           "encode", "model_id", "pair_features", "run"]

_MISSING_SQL = f"""
WITH texts AS (
    SELECT chosen_hash AS content_hash, chosen.content AS text, NULL AS prompt FROM pairs
    UNION ALL SELECT rejected_hash, rejected.content, NULL FROM pairs
    UNION ALL SELECT prompt_id, NULL, prompt FROM pairs
)
SELECT content_hash, any_value(text) AS text, any_value(prompt) AS prompt
FROM texts ANTI JOIN (SELECT content_hash FROM {EMBEDDINGS.name} WHERE model = $model) USING (content_hash)
GROUP BY content_hash ORDER BY content_hash
"""
_DISTINCT_SQL = """
SELECT count(DISTINCT h) FROM (
    SELECT chosen_hash AS h FROM pairs UNION ALL SELECT rejected_hash FROM pairs UNION ALL SELECT prompt_id FROM pairs)
"""


@dataclass(frozen=True)
class PairFeatures:
    """Embeddings of each pair's prompt, chosen and rejected text; row i belongs to ``pair_ids[i]``."""

    pair_ids: list[str]
    prompt: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray


class EmbeddingsMissing(Terminal, CurateError):
    """Some requested pairs have no (or only partial) embeddings for this model identity yet."""

    exit_code = 2


def model_id(cfg: EmbedConfig) -> str:
    """The identity stored in ``embeddings.model``: name, plus backend and length when they change the vectors."""
    ident = cfg.model if cfg.backend == "torch" else f"{cfg.model}@{cfg.backend}"
    return ident if cfg.max_seq_length is None else f"{ident}:len{cfg.max_seq_length}"


def encode(texts: list[str], cfg: EmbedConfig) -> np.ndarray:
    """Raw encoding of ``texts`` in order, float32 [n, dim], with the configured model and backend."""
    return _encoder(cfg).encode(texts, cfg.batch_size)


def run(wh: Warehouse, cfg: EmbedConfig, progress: Callable[[int, int], None] | None = None) -> StageResult:
    """Embed every text of every pair not yet in ``embeddings`` for ``model_id(cfg)``, as one snapshot.

    ``progress(advance, total)`` is called once with ``(0, total)``, then after each batch of texts."""
    started = utcnow()
    run_id = new_run_id(STAGE)
    ident = model_id(cfg)
    encoders.resolve_model(cfg.model, allow_download=cfg.allow_download)  # a bad model fails before any work

    def once() -> dict:
        with wh.transaction(run_id, f"embed model={ident} run={run_id}") as tx:
            distinct = tx.execute(_DISTINCT_SQL).fetchone()[0]
            missing = tx.execute(f"SELECT count(*) FROM ({_MISSING_SQL})", {"model": ident}).fetchone()[0]
            if progress:
                progress(0, missing)
            counts = {"model": ident, "texts": distinct, "cached": distinct - missing, "embedded": 0, "prompts": 0, "responses": 0}
            if missing:
                encoder = _encoder(cfg)
                reader = tx.con.execute(_MISSING_SQL, {"model": ident}).fetch_record_batch(cfg.chunk_size)
                tick = (lambda n: progress(n, missing)) if progress else None
                for chunk in _chunks(reader, cfg.chunk_size):
                    rows = _embed_chunk(chunk, encoder, cfg, ident, run_id, tick, counts)
                    tx.append(EMBEDDINGS, rows)
            tx.record_run(STAGE, started, cfg.model_dump_json(), counts)
        return counts

    counts = retry_on_conflict(once)
    return StageResult(
        stage=STAGE, run_id=run_id, started_at=started, finished_at=utcnow(),
        rows_in=counts["texts"], rows_written=counts["embedded"], snapshot_id=wh.snapshot_of(run_id),
        tables_written=(EMBEDDINGS.name, RUNS.name),
        outcomes={"cached": counts["cached"], "embedded": counts["embedded"]},
    )


def pair_features(wh: Warehouse, cfg: EmbedConfig, pair_ids: list[str] | None = None, *, at: int | None = None) -> PairFeatures:
    """The three embeddings of each pair, rows in ``pair_ids`` order (default: every pair, by pair_id).

    Raises ``EmbeddingsMissing`` naming how many pairs are unknown or not fully embedded."""
    ident = model_id(cfg)
    with wh.connect(read_only=True, at=at, views=False) as con:
        if pair_ids is None:
            con.execute("CREATE TEMP TABLE wanted AS SELECT pair_id, row_number() OVER (ORDER BY pair_id) AS i FROM pairs")
        else:
            con.register("_wanted", pa.table({"pair_id": pa.array(pair_ids, pa.string()),
                                               "i": pa.array(np.arange(len(pair_ids)), pa.int64())}))
            con.execute("CREATE TEMP TABLE wanted AS SELECT * FROM _wanted")
        table = con.execute(f"""
            WITH e AS (SELECT content_hash, any_value(vector) AS v FROM {EMBEDDINGS.name} WHERE model = $model GROUP BY 1)
            SELECT w.pair_id, p.pair_id IS NOT NULL AS known, ep.v AS prompt, ec.v AS chosen, er.v AS rejected
            FROM wanted w LEFT JOIN pairs p USING (pair_id)
            LEFT JOIN e ep ON ep.content_hash = p.prompt_id
            LEFT JOIN e ec ON ec.content_hash = p.chosen_hash
            LEFT JOIN e er ON er.content_hash = p.rejected_hash
            ORDER BY w.i""", {"model": ident}).to_arrow_table()
    unknown = table.num_rows - pc.sum(table["known"]).as_py() if table.num_rows else 0
    if unknown:
        raise EmbeddingsMissing(f"{unknown} of {table.num_rows} requested pair ids are not in pairs", model=ident)
    incomplete = sum(table[c].null_count for c in ("prompt", "chosen", "rejected"))
    if incomplete:
        lacking = pc.sum(pc.or_(pc.or_(pc.is_null(table["prompt"]), pc.is_null(table["chosen"])), pc.is_null(table["rejected"]))).as_py()
        raise EmbeddingsMissing(
            f"{lacking} of {table.num_rows} pairs lack embeddings ({incomplete} texts missing): "
            f"run `curate embed --model {cfg.model} --backend {cfg.backend}` first", model=ident)
    return PairFeatures(pair_ids=table["pair_id"].to_pylist(), prompt=_matrix(table["prompt"]),
                        chosen=_matrix(table["chosen"]), rejected=_matrix(table["rejected"]))


def _encoder(cfg: EmbedConfig) -> encoders.Encoder:
    return encoders.load_encoder(model=cfg.model, backend=cfg.backend, max_seq_length=cfg.max_seq_length,
                                 threads=cfg.threads, cache=cfg.cache_dir, allow_download=cfg.allow_download)


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


def _embed_chunk(chunk: pa.Table, encoder, cfg: EmbedConfig, ident: str, run_id: str, tick, counts: dict) -> list[dict]:
    hashes = chunk["content_hash"].to_pylist()
    texts = [text if text is not None else render_prompt(prompt or [])
             for text, prompt in zip(chunk["text"].to_pylist(), chunk["prompt"].to_pylist())]
    prompts = chunk["prompt"].null_count
    counts["prompts"] += chunk.num_rows - prompts
    counts["responses"] += prompts
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths per batch: less padding
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    for start in range(0, len(order), cfg.batch_size):
        index = order[start:start + cfg.batch_size]
        vectors[index] = encoder.encode([texts[i] for i in index], cfg.batch_size)
        if tick:
            tick(len(index))
    counts["embedded"] += len(texts)
    now = utcnow()
    return [{"model": ident, "content_hash": h, "dim": encoder.dim, "vector": v, "run_id": run_id, "created_at": now}
            for h, v in zip(hashes, vectors.tolist())]


def _matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A FLOAT[] column as a float32 [n, dim] matrix without a Python-level loop."""
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(len(column), -1) if len(column) else np.zeros((0, 0), np.float32)
