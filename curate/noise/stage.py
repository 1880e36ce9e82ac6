"""Noise: score every pair for how likely its label is wrong, by several methods, as evidence.

Reads the pairs (their texts feed the lexical view and the cross-encoder), their
embeddings (the ``embed`` stage's cache; run it first), the judge's
position-consistent verdicts (``judge_pair_verdicts``) and human verdicts (the latest version of each
annotation, ``annotations_latest``, with the tasks' ``audit`` routing from ``annotation_tasks``) when the
warehouse has them, and appends:

- ``rm_scores``: out-of-fold margins per pair and member model (bt, ensemble, peer, cross);
- ``noise_scores``: one row per pair and method (bt, ensemble, peer, confident, dynamics,
  cross, judge, human, fused), higher = more likely mislabeled, with the inputs in ``components``.

A run writes every pair of each method it computes, and never deletes: earlier
runs' rows stay in the tables, and readers take the latest run of each pair and
method from the views ``noise_scores_latest`` and ``rm_scores_latest``. Nothing
here decides: releases do.

Each judge version and each human annotator (``human:<annotator>``) is an annotator of its own in the
fused score, so the run's details (``runs.counts``, view ``noise_reliabilities``) carry every annotator's
estimated accuracy; the human verdicts also anchor the fused EM (``fusion.Anchors``): after a pull, the
next run re-weighs the evidence of every pair, not only of those people looked at.

Only the sources' own pairs are scored: an augmentation's label was made (and checked) by ``curate augment``, so
it has no label noise to estimate, and counting its pairs would pull the estimated noise rate towards zero.

The non-embedding checks ride along in the ``fused`` components (``checks``):
length difference, near-identical responses and refusal markers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import orjson

from curate import embed
from curate.errors import ConfigError
from curate.noise import checks
from curate.noise import methods as nm
from curate.noise.config import NoiseConfig
from curate.noise.confident import canonical_classes
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse, relations
from schemas import ANNOTATION_TASKS, ANNOTATIONS, EMBEDDINGS, JUDGMENTS, NOISE_SCORES, PAIRS, RM_SCORES
from schemas.annotate import ANNOTATIONS_LATEST
from schemas.judge import JUDGE_PAIR_VERDICTS
from schemas.noise import ANNOTATOR_PREFIX
from schemas.vocab import NoiseMethod, PairKind, RouteReason, Verdict

STAGE = "noise"
READS = (PAIRS, EMBEDDINGS, JUDGMENTS, ANNOTATIONS, ANNOTATION_TASKS)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""
"""An annotator's name among the fused score's reliabilities: ``human:<annotator>`` (view ``annotator_quality``
reads these rows of ``noise_reliabilities``; releases weigh each annotator's verdicts by them)."""


def run(wh: Warehouse, cfg: NoiseConfig, progress: Callable[[str], None] | None = None) -> StageResult:
    """Score every pair with ``cfg.methods`` and append those methods' rows, as one snapshot.

    ``progress(step)`` is called before each step. Raises ``embed.EmbeddingsMissing`` when the
    embeddings of some pair are not cached yet (run ``curate embed``)."""
    run = StageRun.start(wh, STAGE, cfg, reads=READS)
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
        texts=(pairs["prompt_text"], pairs["chosen_text"], pairs["rejected_text"]),
        **judge, **human,
    )
    say(f"scoring {len(feats.pair_ids)} pairs: {', '.join(cfg.methods)}")
    scores = nm.score_all(inputs, cfg, progress=say)
    if NoiseMethod.FUSED in scores:
        scores[NoiseMethod.FUSED].components.update(checks.pair_checks(pairs, feats, cfg.near_identical_cosine))
    say("writing scores")
    config_hash = cfg.config_hash()
    embedding_model = embed.model_id(cfg.embedding)

    def write(tx: Transaction) -> Counts:
        now = utcnow()
        rows = {}
        for method, result in scores.items():
            tx.append(NOISE_SCORES, _noise_rows(feats.pair_ids, method, result, config_hash, run.run_id, now))
            rows[method] = len(feats.pair_ids)
            if result.margins is not None:
                tx.append(RM_SCORES, _rm_rows(feats.pair_ids, method, result, embedding_model, config_hash, run.run_id, now))
        details = {"pairs": len(feats.pair_ids), "methods": list(scores), "rows": rows,
                   "noise_rate": {m: s.noise_rate for m, s in scores.items() if s.noise_rate is not None},
                   "reliabilities": {m: s.reliabilities for m, s in scores.items() if s.reliabilities is not None},
                   "fusion_weights": {m: s.weights for m, s in scores.items() if s.weights is not None},
                   "judge_pairs": int(np.sum(judge.get("judge_count", 0) > 0)) if judge else 0,
                   "human_pairs": int(np.sum(human.get("human_count", 0) > 0)) if human else 0,
                   "audit_pairs": int(human["audit"].sum()) if human else 0,
                   "anchors": {m: s.anchors for m, s in scores.items() if s.anchors is not None}}
        return Counts(rows_in=len(feats.pair_ids), rows_written=sum(rows.values()),
                      outcomes={f"{m}_rows": n for m, n in rows.items()}, details=details)

    return run.commit(wh, write, message=f"noise methods={','.join(scores)}")


def _read(wh: Warehouse, cfg: NoiseConfig) -> tuple[dict, dict, dict]:
    """Pairs (by pair_id) with lengths and refusal-marker counts computed in SQL, and the optional evidence."""
    markers = checks.refusal_markers()
    with wh.connect(read_only=True) as con:
        table = con.execute(
            f"""SELECT pair_id, prompt_id, chosen_hash, rejected_hash, coalesce(tie, false) AS tie,
                      array_to_string(list_transform(prompt, m -> m.role || ': ' || m.content), '\n') AS prompt_text,
                      chosen.content AS chosen_text, rejected.content AS rejected_text,
                      length(chosen.content) AS chosen_chars, length(rejected.content) AS rejected_chars,
                      list_sum([contains(lower(chosen.content), m)::INT FOR m IN $1::VARCHAR[]]) AS chosen_refusals,
                      list_sum([contains(lower(rejected.content), m)::INT FOR m IN $1::VARCHAR[]]) AS rejected_refusals
               FROM {PAIRS.name} WHERE coalesce(kind, '{PairKind.ORIGINAL}') = '{PairKind.ORIGINAL}'
               ORDER BY pair_id""", [markers]).to_arrow_table()
        pairs = {name: table[name].to_pylist() for name in table.column_names}
        present = relations(con)
        judge, human = {}, {}
        if JUDGE_PAIR_VERDICTS in present:
            attributes = " AND attribute IN (SELECT unnest(?::VARCHAR[]))" if cfg.judge_attributes else ""
            versions = _votes(con, f"SELECT * FROM {JUDGE_PAIR_VERDICTS} WHERE consistent{attributes}",
                              [cfg.judge_attributes] if cfg.judge_attributes else [], pairs["pair_id"], _JUDGE_VERSION)
            judge = _evidence(versions, NoiseMethod.JUDGE)
            if judge:  # each judge version is an annotator of its own in the fused score
                judge["judges"] = {version: signal for version, (signal, _) in versions.items()}
        if ANNOTATIONS_LATEST in present:
            people = _votes(con, f"SELECT * FROM {ANNOTATIONS_LATEST} WHERE verdict IS NOT NULL", [], pairs["pair_id"],
                            _annotator_name("annotator"))
            human = _evidence(people, NoiseMethod.HUMAN)
            if human:  # each annotator is an annotator of its own in the fused score; the audit sample anchors it
                human["humans"] = {name: signal for name, (signal, _) in people.items()}
                human["audit"] = _audit(con, present, pairs["pair_id"])
    return pairs, judge, human


def _annotator_name(column: str) -> str:
    """SQL: an annotator's name among the reliabilities, from the ``annotations`` column ``column``."""
    return f"'{ANNOTATOR_PREFIX}' || coalesce({column}, '')"


def _audit(con, present: set[str], pair_ids: list[str]) -> np.ndarray:
    """Per pair: some latest human verdict answered a task routed as ``audit`` (the batch's uniform sample)."""
    audited = np.zeros(len(pair_ids), bool)
    if ANNOTATION_TASKS.name not in present:
        return audited
    rows = con.execute(f"SELECT DISTINCT a.pair_id FROM {ANNOTATIONS_LATEST} a JOIN {ANNOTATION_TASKS.name} t "
                       f"USING (batch_id, pair_id) WHERE t.route_reason = '{RouteReason.AUDIT}' AND a.verdict IS NOT NULL").fetchall()
    index = {p: i for i, p in enumerate(pair_ids)}
    audited[[index[p] for p, in rows if p in index]] = True
    return audited


_JUDGE_VERSION = "judge || ' ' || template || ' ' || attribute || coalesce(' ' || left(settings_hash, 8), '')"
"""A judge version's name, as ``judge_quality`` rows show it: judge, template, attribute and the settings hash's start."""


def _votes(con, sql: str, params: list, pair_ids: list[str], group: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per ``group`` (a SQL expression over ``sql``'s rows) and pair: the mean of +1 (verdict 'rejected': against
    the label), -1 ('chosen') and 0 ('tie'), NaN without verdicts, and the number of verdicts."""
    rows = con.execute(
        f"SELECT {group} AS grp, pair_id, avg(CASE verdict WHEN '{Verdict.REJECTED}' THEN 1 WHEN '{Verdict.CHOSEN}' THEN -1 "
        f"ELSE 0 END), count(*) FROM ({sql}) GROUP BY ALL ORDER BY grp", params).fetchall()
    index = {p: i for i, p in enumerate(pair_ids)}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for grp, pair_id, value, n in rows:
        if pair_id in index:
            signal, count = out.setdefault(grp, (np.full(len(pair_ids), np.nan), np.zeros(len(pair_ids))))
            signal[index[pair_id]], count[index[pair_id]] = value, n
    return out


def _evidence(groups: dict[str, tuple[np.ndarray, np.ndarray]], name: str) -> dict:
    """The ``Inputs`` fields of one kind of evidence: its signal pooled over the groups (each group's mean
    weighted by its verdicts) and the verdict count per pair. Empty (the method is skipped) without verdicts."""
    if not groups:
        return {}
    counts = np.stack([count for _, count in groups.values()])
    votes = np.stack([np.nan_to_num(signal) * count for signal, count in groups.values()]).sum(axis=0)
    total = counts.sum(axis=0)
    pooled = np.divide(votes, total, out=np.full(len(total), np.nan), where=total > 0)
    return {name: pooled, f"{name}_count": total}


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
    if method == NoiseMethod.PEER:
        return ["embedding_peer", "lexical_peer"][:count]
    return [f"{method}-{j}" for j in range(count)]
