"""Noise: score every pair for how likely its label is wrong, by several methods, as evidence.

Reads the pairs, their embeddings (the ``embed`` stage's cache; run it first),
the judge's position-consistent verdicts (``judge_pair_verdicts``) and human
verdicts (``annotations``) when the warehouse has them, and writes:

- ``rm_scores``: out-of-fold margins per pair and member model (bt, ensemble, peer);
- ``noise_scores``: one row per pair and method (bt, ensemble, peer, confident, judge,
  human, fused), higher = more likely mislabeled, with the inputs in ``components``.

Rows of the methods a run computes replace that method's earlier rows in the same
snapshot, so at any snapshot each pair has exactly one row per method (earlier
scores stay readable by time travel). Nothing here decides: releases do.

The non-embedding checks ride along in the ``fused`` components: length difference,
near-identical responses (embedding cosine above a threshold) and refusal markers
(``assets/refusal_markers.txt``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate import embed
from curate.noise import methods as nm
from curate.noise.confident import canonical_classes
from curate.errors import ConfigError
from curate.noise.rm import RMConfig
from curate.stage import StageResult, new_run_id, utcnow
from curate.warehouse import Warehouse, retry_on_conflict
from schemas import NOISE_SCORES, RM_SCORES, RUNS

STAGE = "noise"
METHODS = nm.METHODS
JUDGE_VIEW = "judge_pair_verdicts"
ANNOTATIONS = "annotations"


class NoiseConfig(BaseModel):
    """Which methods run and how. Stored with the run in ``runs.config``; its hash is on every score row."""

    model_config = ConfigDict(extra="forbid")

    methods: list[str] = Field(list(METHODS), description=f"methods to score and write: {', '.join(METHODS)}")
    embedding: embed.EmbedConfig = Field(default_factory=embed.EmbedConfig, description="embedding model the features come from")
    rm: RMConfig = Field(default_factory=RMConfig, description="reward heads: folds, members, training")
    fusion: nm.FusionConfig = Field(default_factory=nm.FusionConfig, description="how the fused score weighs judge and human evidence")
    judge_attributes: list[str] | None = Field(None, description="judge attributes the judge signal reads; null = all")
    near_identical_cosine: float = Field(0.97, gt=0, le=1, description="responses at least this similar are flagged near-identical")

    @field_validator("methods")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(METHODS))
        if unknown or not value:
            raise ValueError(f"unknown or no methods {unknown}; choose from {', '.join(METHODS)}")
        return [m for m in METHODS if m in value]

    def config_hash(self) -> str:
        return hashlib.sha256((self.model_dump_json() + _markers_text()).encode()).hexdigest()[:16]


def run(wh: Warehouse, cfg: NoiseConfig, progress: Callable[[str], None] | None = None) -> StageResult:
    """Score every pair with ``cfg.methods`` and replace those methods' rows, as one snapshot.

    ``progress(step)`` is called before each step. Raises ``embed.EmbeddingsMissing`` when the
    embeddings of some pair are not cached yet (run ``curate embed``)."""
    started = utcnow()
    run_id = new_run_id(STAGE)
    say = progress or (lambda step: None)
    say("reading pairs")
    pairs, judge, human = _read(wh, cfg)
    if not len(pairs["pair_id"]):
        raise ConfigError("no pairs to score: ingest some first", stage=STAGE)
    say("reading embeddings")
    feats = embed.pair_features(wh, cfg.embedding, pairs["pair_id"])
    inputs = nm.Inputs(
        prompt=feats.prompt, chosen=feats.chosen, rejected=feats.rejected,
        classes=canonical_classes(pairs["chosen_hash"], pairs["rejected_hash"]),
        groups=np.array(pairs["prompt_id"]), tie=np.array(pairs["tie"], dtype=bool),
        **judge, **human,
    )
    say(f"scoring {len(feats.pair_ids)} pairs: {', '.join(cfg.methods)}")
    scores = nm.score_all(inputs, cfg.rm, cfg.fusion, tuple(cfg.methods))
    checks = _checks(pairs, feats, cfg)
    if "fused" in scores:
        scores["fused"].components.update(checks)
    say("writing scores")
    config_hash = cfg.config_hash()
    written = {}

    def once() -> dict:
        with wh.transaction(run_id, f"noise methods={','.join(scores)} run={run_id}") as tx:
            now = utcnow()
            methods = list(scores)
            tx.execute(f"DELETE FROM {NOISE_SCORES.name} WHERE method IN (SELECT unnest($1::VARCHAR[]))", [methods])
            tx.execute(f"DELETE FROM {RM_SCORES.name} WHERE method IN (SELECT unnest($1::VARCHAR[]))", [methods])
            for method, result in scores.items():
                tx.append(NOISE_SCORES, _noise_rows(feats.pair_ids, method, result, config_hash, run_id, now))
                written[method] = len(feats.pair_ids)
                if result.margins is not None:
                    tx.append(RM_SCORES, _rm_rows(feats.pair_ids, method, result, embed.model_id(cfg.embedding), config_hash, run_id, now))
            counts = {"pairs": len(feats.pair_ids), "methods": methods, "rows": written,
                      "noise_rate": {m: s.noise_rate for m, s in scores.items() if s.noise_rate is not None},
                      "judge_pairs": int(np.sum(judge.get("judge_count", 0) > 0)) if judge else 0,
                      "human_pairs": int(np.sum(human.get("human_count", 0) > 0)) if human else 0}
            tx.record_run(STAGE, started, cfg.model_dump_json(), counts)
        return counts

    counts = retry_on_conflict(once)
    return StageResult(
        stage=STAGE, run_id=run_id, started_at=started, finished_at=utcnow(),
        rows_in=counts["pairs"], rows_written=sum(counts["rows"].values()), snapshot_id=wh.snapshot_of(run_id),
        tables_written=(NOISE_SCORES.name, RM_SCORES.name, RUNS.name),
        outcomes={f"{m}_rows": n for m, n in counts["rows"].items()},
    )


def _markers_text() -> str:
    return resources.files("curate").joinpath("assets/refusal_markers.txt").read_text()


def refusal_markers() -> list[str]:
    """The refusal phrases (lowercase) from the package data file."""
    return [line.strip().lower() for line in _markers_text().splitlines() if line.strip() and not line.startswith("#")]


def _read(wh: Warehouse, cfg: NoiseConfig) -> tuple[dict, dict, dict]:
    """Pairs (by pair_id) with lengths and refusal-marker counts computed in SQL, and the optional evidence."""
    markers = refusal_markers()
    with wh.connect(read_only=True) as con:
        table = con.execute(
            """SELECT pair_id, prompt_id, chosen_hash, rejected_hash, coalesce(tie, false) AS tie,
                      length(chosen.content) AS chosen_chars, length(rejected.content) AS rejected_chars,
                      list_sum([contains(lower(chosen.content), m)::INT FOR m IN $1::VARCHAR[]]) AS chosen_refusals,
                      list_sum([contains(lower(rejected.content), m)::INT FOR m IN $1::VARCHAR[]]) AS rejected_refusals
               FROM pairs ORDER BY pair_id""", [markers]).to_arrow_table()
        pairs = {name: table[name].to_pylist() for name in table.column_names}
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'lake' AND table_name = $1", [ANNOTATIONS]).fetchall()}
        judge = _evidence(con, f"SELECT pair_id, verdict FROM {JUDGE_VIEW} WHERE consistent"
                          + (" AND attribute IN (SELECT unnest($1::VARCHAR[]))" if cfg.judge_attributes else ""),
                          [cfg.judge_attributes] if cfg.judge_attributes else [], pairs["pair_id"], "judge") if JUDGE_VIEW in views else {}
        human = _evidence(con, f"SELECT pair_id, verdict FROM {ANNOTATIONS} WHERE verdict IS NOT NULL", [],
                          pairs["pair_id"], "human") if {"pair_id", "verdict"} <= columns else {}
    return pairs, judge, human


def _evidence(con, sql: str, params: list, pair_ids: list[str], name: str) -> dict:
    """Per pair, the mean of +1 (verdict 'rejected': against the label), -1 ('chosen') and 0 ('tie'); NaN without verdicts.
    Empty (the method is skipped) when no pair has a verdict."""
    rows = con.execute(
        f"SELECT pair_id, avg(CASE verdict WHEN 'rejected' THEN 1 WHEN 'chosen' THEN -1 ELSE 0 END), count(*) "
        f"FROM ({sql}) GROUP BY pair_id", params).fetchall()
    index = {p: i for i, p in enumerate(pair_ids)}
    signal, count = np.full(len(pair_ids), np.nan), np.zeros(len(pair_ids))
    for pair_id, value, n in rows:
        if pair_id in index:
            signal[index[pair_id]], count[index[pair_id]] = value, n
    return {name: signal, f"{name}_count": count} if count.any() else {}


def _checks(pairs: dict, feats: embed.PairFeatures, cfg: NoiseConfig) -> dict[str, np.ndarray]:
    """Non-embedding checks, as components: length difference, near-identical responses, refusal markers."""
    c, r = feats.chosen, feats.rejected
    cosine = (c * r).sum(axis=1) / (np.linalg.norm(c, axis=1) * np.linalg.norm(r, axis=1) + 1e-12)
    chosen_chars, rejected_chars = np.array(pairs["chosen_chars"], float), np.array(pairs["rejected_chars"], float)
    return {
        "length_diff": chosen_chars - rejected_chars,
        "log_length_ratio": np.log1p(chosen_chars) - np.log1p(rejected_chars),
        "response_cosine": cosine,
        "near_identical": cosine >= cfg.near_identical_cosine,
        "chosen_refusals": np.array(pairs["chosen_refusals"], float),
        "rejected_refusals": np.array(pairs["rejected_refusals"], float),
    }


def _noise_rows(pair_ids: list[str], method: str, result: nm.Scores, config_hash: str, run_id: str, now) -> list[dict]:
    names = list(result.components)
    columns = [np.asarray(result.components[k]).tolist() for k in names]
    if result.noise_rate is not None:
        names.append("noise_rate")
        columns.append([result.noise_rate] * len(pair_ids))
    return [
        {"pair_id": pair_id, "method": method, "score": float(score),
         "components": orjson.dumps(dict(zip(names, values)), option=orjson.OPT_SERIALIZE_NUMPY).decode(),
         "config_hash": config_hash, "run_id": run_id, "created_at": now}
        for pair_id, score, *values in zip(pair_ids, result.score.tolist(), *columns)
    ]


def _rm_rows(pair_ids: list[str], method: str, result: nm.Scores, model: str, config_hash: str, run_id: str, now) -> list[dict]:
    margins = result.margins
    std = margins.std(axis=1) if margins.shape[1] > 1 else np.full(len(pair_ids), np.nan)
    folds = result.folds.tolist()
    names = _member_names(method, margins.shape[1])
    return [
        {"pair_id": pair_id, "method": method, "model_id": names[j], "fold": folds[i], "margin": float(margins[i, j]),
         "margin_std": None if np.isnan(std[i]) else float(std[i]), "embedding_model": model,
         "config_hash": config_hash, "run_id": run_id, "created_at": now}
        for i, pair_id in enumerate(pair_ids) for j in range(margins.shape[1])
    ]


def _member_names(method: str, count: int) -> list[str]:
    if method == "peer":
        return ["reviewed", "peer_a", "peer_b"][:count]
    return [f"{method}-{j}" for j in range(count)]
