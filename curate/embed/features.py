"""Reading the embedding cache: a pair's three vectors, the model identity they are stored under, raw encoding.

Later stages (noise, benchmarks) read features through here and never touch the
``embeddings`` table or an encoder directly, so the cache key (``model_id``) is
computed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.embed import encoders
from curate.embed.config import EmbedConfig
from curate.errors import CurateError, Terminal
from curate.warehouse import Warehouse
from schemas import EMBEDDINGS, PAIRS


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


def encoder(cfg: EmbedConfig) -> encoders.Encoder:
    """The configured model and backend, loaded (cached per process by ``encoders``)."""
    return encoders.load_encoder(model=cfg.model, backend=cfg.backend, max_seq_length=cfg.max_seq_length,
                                 threads=cfg.threads, cache=cfg.cache_dir, allow_download=cfg.allow_download)


def encode(texts: list[str], cfg: EmbedConfig) -> np.ndarray:
    """Raw encoding of ``texts`` in order, float32 [n, dim], with the configured model and backend."""
    return encoder(cfg).encode(texts, cfg.batch_size)


def pair_features(wh: Warehouse, cfg: EmbedConfig, pair_ids: list[str] | None = None, *, at: int | None = None) -> PairFeatures:
    """The three embeddings of each pair, rows in ``pair_ids`` order (default: every pair, by pair_id).

    Raises ``EmbeddingsMissing`` naming how many pairs are unknown or not fully embedded."""
    ident = model_id(cfg)
    with wh.connect(read_only=True, at=at, views=False) as con:
        if pair_ids is None:
            con.execute(f"CREATE TEMP TABLE wanted AS SELECT pair_id, row_number() OVER (ORDER BY pair_id) AS i FROM {PAIRS.name}")
        else:
            con.register("_wanted", pa.table({"pair_id": pa.array(pair_ids, pa.string()),
                                               "i": pa.array(np.arange(len(pair_ids)), pa.int64())}))
            con.execute("CREATE TEMP TABLE wanted AS SELECT * FROM _wanted")
        table = con.execute(f"""
            WITH e AS (SELECT content_hash, any_value(vector) AS v FROM {EMBEDDINGS.name} WHERE model = $model GROUP BY 1)
            SELECT w.pair_id, p.pair_id IS NOT NULL AS known, ep.v AS prompt, ec.v AS chosen, er.v AS rejected
            FROM wanted w LEFT JOIN {PAIRS.name} p USING (pair_id)
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


def _matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A FLOAT[] column as a float32 [n, dim] matrix without a Python-level loop."""
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(len(column), -1) if len(column) else np.zeros((0, 0), np.float32)
