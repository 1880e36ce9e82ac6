"""End-to-end curation benchmark: does a curated release train a better reward model than the raw data?

    .venv/bin/python benchmarks/curation.py [--seeds 5] [--rates 0,0.2,0.4] [--judge-arm] [--train-rm]

The other noise benchmark (``noise.py``) scores arrays; this one runs the library's whole default path,
as a user would, so what it proves is what ``curate`` ships. Once, a base warehouse ingests and embeds
the real HH-RLHF pairs (kept under ``benchmarks/.work/curation/base``: a second run is warm). Then for each
injected rate and seed:

1. a relabeled copy of the file is written, a random share of its pairs with chosen and rejected swapped
   (the truth stays in memory);
2. ``curate.ingest.run`` into a fresh warehouse; its ``embeddings`` table is seeded from the base (rows are
   keyed by model and text hash, and a swap changes no text), so ``curate.embed.run`` finds every text cached;
3. ``curate.noise.run(wh, NoiseConfig())`` and the default release (``curate.release`` with the packaged
   policy), nothing tuned per rate and nothing looking at the truth;
4. the decisions are read back from ``release_rows`` and the scores from ``noise_scores_latest``.

Measured against the injected flips: detection per noise method (and an oracle: the same linear head on
the same features trained on the clean labels), the release's precision and recall, calibration of the
fused P(wrong), an ablation of the fused score's sources; downstream, the same cross-fitted linear head
trained on clean / noisy / curated labels, scored against the original ones on held-out folds.
``--human-arm`` adds SIMULATED annotators (scripted accuracies) on one batch the default routing policy picks,
then a second noise run and release, and measures detection on the pairs nobody annotated;
``--judge-arm`` adds a SIMULATED judge (``benchmarks/sim_judge.py``, scripted accuracy and position bias)
judged through ``curate.judge.run`` before a second noise run; ``--train-rm`` fine-tunes the packaged
MiniLM reward model (``curate.evaluate``) on the raw and the curated release. Every number and sentence
in ``benchmarks/results/curation.md`` is computed by the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance import header  # noqa: E402

from curate import embed, ingest, judge, noise, release  # noqa: E402
from curate.annotate.config import RoutingPolicy  # noqa: E402
from curate.annotate.record import HumanVerdict, new_versions  # noqa: E402
from curate.annotate.routing import reasons_count, route  # noqa: E402
from curate.noise import calibrate  # noqa: E402
from curate.noise import methods as nm  # noqa: E402
from curate.noise import rm  # noqa: E402
from curate.noise.config import NoiseConfig  # noqa: E402
from curate.release.policy import ReleasePolicy, load_policy  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402
from curate.stage import utcnow  # noqa: E402
from schemas import ANNOTATION_BATCHES, ANNOTATION_TASKS, ANNOTATIONS, EMBEDDINGS  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
WORK = ROOT / "benchmarks" / ".work" / "curation"
RESULTS = ROOT / "benchmarks" / "results"
SIM_JUDGE = ROOT / "benchmarks" / "sim_judge.py"
FUSED = "fused"
TARGETS = {  # injected rate: minimum fused AUROC, release precision, release recall, recovery R
    0.2: {"auroc": 0.72, "precision": 0.35, "recall": 0.25, "R": 0.3},
    0.4: {"auroc": 0.65, "R": 0.6},
}
ORACLE_SHARE = 0.95  # fused AUROC at least this share of the oracle's
MAX_LOST_POINTS = 0.5  # accuracy the curated release may cost at 0% injected
RATE_TOLERANCE = 0.05  # fused noise-rate estimate within this of injected + the 0% estimate
RUNTIME_LIMIT_S, RSS_LIMIT_MB, DEFAULT_GRID = 900, 2048, (5, 3)  # the default command: 5 seeds x 3 rates, warm
JUDGE_RELIABILITY_TOLERANCE, JUDGE_GAIN = 0.05, 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rates", default="0,0.2,0.4")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=WORK, help="base warehouse (kept) and per-run warehouses (deleted)")
    parser.add_argument("--out", type=Path, default=RESULTS / "curation.md", help="report; the PNG goes next to it")
    parser.add_argument("--judge-arm", action="store_true", help="add a SIMULATED judge (benchmarks/sim_judge.py) before a second noise run")
    parser.add_argument("--judge-accuracy", type=float, default=0.75, help="simulated judge: P(position-consistent verdict is right)")
    parser.add_argument("--judge-position-bias", type=float, default=0.2, help="simulated judge: P(a request answers 'A' regardless)")
    parser.add_argument("--human-arm", action="store_true", help="add SIMULATED annotators on one routed batch before another noise run")
    parser.add_argument("--human-pairs", type=int, default=200, help="simulated annotators: pairs in the routed batch")
    parser.add_argument("--human-accuracy", default="0.9,0.7", help="simulated annotators: one P(verdict right) per annotator")
    parser.add_argument("--train-rm", action="store_true", help="also fine-tune the MiniLM reward model (curate.evaluate) on raw vs curated")
    parser.add_argument("--train-rm-rates", default="0.2,0.4")
    parser.add_argument("--train-rm-seeds", type=int, default=3)
    parser.add_argument("--train-rm-pairs", type=int, default=1000, help="train pairs per fine-tune (the first by pair_id)")
    parser.add_argument("--train-rm-eval-pairs", type=int, default=None, help="held-out pairs scored (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the per-run warehouses under --work")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    load_before, started = os.getloadavg(), time.time()
    base = _base(args)
    runs = []
    for rate in rates:
        for seed in range(args.seeds):
            t = time.time()
            runs.append(_one(base, rate, seed, args))
            print(f"rate={rate:.0%} seed={seed}: {time.time() - t:.1f}s", file=sys.stderr, flush=True)
    base["rss_default_mb"] = _rss_mb()  # the peak of the default path alone: the arms (torch training) come after
    for run in runs:
        _arms(base, run, args)
    elapsed = time.time() - started
    plot = args.out.with_name(args.out.stem + "_reliability.png")
    _plot(runs, rates, plot)
    text = _report(args, rates, runs, base, elapsed, load_before, plot)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out} and {plot}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------- the path


def _base(args) -> dict:
    """Ingest and embed the original file once (cold), or reuse it (warm); export its embeddings for seeding."""
    t = time.time()
    where = args.work / "base"
    fresh = not (where / "warehouse.yaml").exists()
    wh = Warehouse.init(where)
    if fresh:
        ingest.run(wh, ingest.IngestConfig(source=str(args.data)))
    cfg = NoiseConfig().embedding
    embedded = embed.run(wh, cfg)
    seed_file = args.work / "embeddings.parquet"
    with wh.connect(read_only=True, views=False) as con:
        con.execute(f"COPY (SELECT * FROM {EMBEDDINGS.name} WHERE model = ?) TO '{seed_file}' (FORMAT parquet)", [embed.model_id(cfg)])
        rows = con.execute("SELECT pair_id, source_row, chosen.content, rejected.content, chosen_hash FROM pairs ORDER BY pair_id").fetchall()
        held_out = con.execute("SELECT count(*) FROM releases WHERE name = 'heldout'").fetchone()[0]
    if args.train_rm and not held_out:  # the fine-tunes' held-out set: original labels, 30% of the prompts
        release.run(wh, release.ReleaseConfig(name="heldout", policy=ReleasePolicy(splits={"train": 0.7, "test": 0.3})))
    base = {"wh": wh, "pair_ids": [r[0] for r in rows], "source_row": np.array([r[1] for r in rows]),
            "texts": [[r[2], r[3]] for r in rows], "chosen_hash": np.array([r[4] for r in rows]), "seed_file": seed_file,
            "seconds": time.time() - t, "cold": fresh or embedded.outcomes["embedded"] > 0,
            "embedded": embedded.outcomes["embedded"], "model": embedded.details["model"], "cfg": cfg}
    pairs_file = args.work / "original-pairs.json"  # what the simulated judge knows: each pair's original orientation
    pairs_file.write_bytes(orjson.dumps(base["texts"]))
    base["pairs_file"] = pairs_file
    print(f"base: {len(rows)} pairs in {base['seconds']:.1f}s ({base['embedded']} texts embedded)", file=sys.stderr)
    return base


def _one(base: dict, rate: float, seed: int, args) -> dict:
    """One injected rate and seed through the whole default path; every measurement of it."""
    n = len(base["pair_ids"])
    rng = np.random.default_rng(1000 + seed)
    flip = np.zeros(n, bool)
    flip[rng.choice(n, int(round(rate * n)), replace=False)] = True
    folder = args.work / f"run-{rate:g}-{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out: dict = {"rate": rate, "seed": seed, "time": {}, "arm_time": {}}  # the default path's stages; the arms'
    clock = _clock(out["time"])

    with clock("write file"):
        path = _relabeled(args.data, folder / "relabeled.jsonl.gz", set(base["source_row"][flip].tolist()))
    wh = Warehouse.init(folder / "wh")
    with clock("ingest"):
        ingest.run(wh, ingest.IngestConfig(source=str(path)))
    with clock("seed embeddings"):
        _seed_embeddings(wh, base["seed_file"])
    with clock("embed"):
        embedded = embed.run(wh, base["cfg"])
    out["embed"] = dict(embedded.outcomes)
    fusion: dict = {}
    with clock("noise"), _recording_fusion(fusion):
        noise_run = noise.run(wh, NoiseConfig())
    with clock("release"):
        release.run(wh, release.ReleaseConfig(name="curated"))
    with clock("measure"):
        state = _read(wh, base, flip, "curated") | {"fusion": fusion}
        out.update(_measure(state, flip, rate, seed, base["cfg"], wh, noise_run.details))
    out["_wh"], out["_flip"], out["_folder"] = wh, flip, folder
    return out


def _arms(base: dict, out: dict, args) -> None:
    """The optional arms on a run's warehouse, after every default run (so they cannot raise its peak RSS); then clean up."""
    wh, flip, folder = out.pop("_wh"), out.pop("_flip"), out.pop("_folder")
    rate, seed = out["rate"], out["seed"]
    previous = {"release": "curated", "noise_rate": out["noise_rate"]}
    if args.judge_arm:
        out["judge"] = _judge_arm(wh, base, flip, rate, seed, args, _clock(out["arm_time"]), out)
        previous = {"release": "curated-simjudge", "noise_rate": out["judge"]["noise_rate"]}
    if args.human_arm:
        out["human"] = _human_arm(wh, base, flip, rate, seed, args, _clock(out["arm_time"]), previous)
    if args.train_rm and rate in [float(r) for r in args.train_rm_rates.split(",")] and seed < args.train_rm_seeds:
        out["train_rm"] = _train_rm(wh, base, seed, args, _clock(out["arm_time"]))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def _clock(times: dict):
    @contextmanager
    def clock(stage: str):
        t = time.time()
        yield
        times[stage] = times.get(stage, 0.0) + time.time() - t
    return clock


def _relabeled(source: Path, target: Path, rows: set[int]) -> Path:
    """The source file with chosen and rejected swapped on ``rows`` (0-based line numbers)."""
    with gzip.open(source, "rb") as src, gzip.open(target, "wb", compresslevel=1) as dst:
        for i, line in enumerate(src):
            if i in rows:
                record = orjson.loads(line)
                record["chosen"], record["rejected"] = record["rejected"], record["chosen"]
                line = orjson.dumps(record) + b"\n"
            dst.write(line)
    return target


def _seed_embeddings(wh: Warehouse, seed_file: Path) -> None:
    """Copy the base's embedding rows in, as one snapshot: embed.run then finds every text cached."""
    with wh.transaction(f"seed-embeddings-{os.getpid()}-{time.time_ns()}", "benchmark: embeddings seeded from the base warehouse") as tx:
        tx.execute(f"INSERT INTO {EMBEDDINGS.name} BY NAME SELECT * FROM read_parquet(?)", [str(seed_file)])
        tx.wrote(EMBEDDINGS)


def _read(wh: Warehouse, base: dict, flip: np.ndarray, name: str) -> dict:
    """What the run wrote, aligned to the base's pair order: scores per method and decisions."""
    index = {p: i for i, p in enumerate(base["pair_ids"])}
    n = len(index)
    with wh.connect(read_only=True) as con:
        pairs = con.execute("SELECT pair_id, chosen_hash, prompt_id FROM pairs ORDER BY pair_id").fetchall()
        scored = con.execute("SELECT pair_id, method, score FROM noise_scores_latest").fetchall()
        decided = con.execute("SELECT pair_id, decision FROM release_rows WHERE release = ?", [name]).fetchall()
    if [p[0] for p in pairs] != base["pair_ids"]:
        raise RuntimeError("the relabeled file ingested to other pairs than the original")
    stored_flipped = np.array([c for _, c, _ in pairs]) != base["chosen_hash"]
    if not np.array_equal(stored_flipped, flip):  # the truth, checked against what the warehouse holds
        raise RuntimeError("the warehouse's labels differ from the injected flips")
    scores: dict[str, np.ndarray] = {}
    for pair_id, method, score in scored:
        scores.setdefault(method, np.full(n, np.nan))[index[pair_id]] = score
    decision = np.array(["keep"] * n, dtype=object)
    for pair_id, d in decided:
        decision[index[pair_id]] = d
    return {"scores": scores, "decision": decision, "groups": np.array([p[2] for p in pairs]),
            "pair_ids": base["pair_ids"]}


def _measure(state: dict, flip: np.ndarray, rate: float, seed: int, embed_cfg, wh: Warehouse, details: dict) -> dict:
    """Detection, release quality, calibration, ablation and downstream accuracy of one run."""
    scores, decision = state["scores"], state["decision"]
    out: dict = {"methods": {}, "n": len(flip), "flips": int(flip.sum())}
    feats = embed.pair_features(wh, embed_cfg, state["pair_ids"])
    cfg = NoiseConfig().rm.model_copy(update={"seed": seed})
    phi = rm.standardize(rm.features(feats.prompt, feats.chosen), rm.features(feats.prompt, feats.rejected))
    folds = rm.fold_ids(len(flip), cfg.folds, seed + 7, state["groups"])
    to_original = np.where(flip, -1.0, 1.0)
    removed, flipped = decision != "keep", decision == "flip"
    ones = np.ones(len(flip))
    variants = {"clean": (ones, to_original), "noisy": (ones, ones),
                "curated": ((decision != "drop").astype(float), np.where(flipped, -1.0, 1.0))}
    margins = rm.cross_fit_variants(*phi, folds=folds, cfg=cfg, weights=np.stack([w for w, _ in variants.values()]),
                                    signs=np.stack([s for _, s in variants.values()]))
    out["acc"] = {name: float(((margins[:, i] * to_original) > 0).mean()) for i, name in enumerate(variants)}
    if flip.any():
        for method, score in {**scores, "oracle": -margins[:, 0]}.items():
            out["methods"][method] = _detection(flip, score)
        gap = out["acc"]["clean"] - out["acc"]["noisy"]
        out["R"] = (out["acc"]["curated"] - out["acc"]["noisy"]) / gap if abs(gap) > 1e-9 else math.nan
        out["precision"] = float(flip[removed].mean()) if removed.any() else math.nan
        out["recall"] = float((removed & flip).sum() / flip.sum())
    out["dropped"], out["flipped"] = float((decision == "drop").mean()), float(flipped.mean())
    p = scores.get(FUSED)
    out["stated_precision"] = float(np.mean(p[removed])) if removed.any() and p is not None else math.nan
    out["noise_rate"] = details.get("noise_rate", {}).get(FUSED)
    if p is not None:
        out["calibration"] = {"ece": calibrate.ece(p, flip), "brier": calibrate.brier(p, flip), "p": p, "y": flip}
    out["ablation"], strengths = _ablation(state["fusion"], flip)
    out["spearman"] = {"methods": _spearman({m: s for m, s in scores.items() if m != FUSED}), "fusion sources": _spearman(strengths)}
    return out


@contextmanager
def _recording_fusion(record: dict):
    """Record what the noise stage fuses (the arguments of ``curate.noise.methods.fuse``), so the ablation re-runs
    the library's own fusion on exactly those arrays; the stage's result is untouched. Records nothing when the
    library has no ``fuse``."""
    original = getattr(nm, "fuse", None)
    if original is None:
        yield
        return

    def fuse(sources, inputs, *rest, **kwargs):
        record.update(sources=sources, inputs=inputs, rest=rest, kwargs=kwargs, fuse=original)
        record["result"] = original(sources, inputs, *rest, **kwargs)
        return record["result"]

    nm.fuse = fuse
    try:
        yield
    finally:
        nm.fuse = original


def _ablation(fusion: dict, flip: np.ndarray) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Per evidence source of the fused score: its weight in the stage's fusion and the fused AUROC with it left out
    (the fusion re-run without it, so the EM refits); the verdict sources (judges, humans) leave out as one.
    Also each reward-model source's strength (its evidence for the label: what the fusion reads), for Spearman."""
    if not fusion:
        return {}, {}
    sources, inputs, fuse = fusion["sources"], fusion["inputs"], fusion["fuse"]
    strengths = {name: np.asarray(s.strength, float) for name, s in sources.items() if getattr(s, "strength", None) is not None}
    weights = getattr(fusion["result"], "weights", None) or {}

    def fused_auroc(kept: dict, used_inputs) -> float:
        return auroc(flip, fuse(kept, used_inputs, *fusion["rest"], **fusion["kwargs"]).score) if flip.any() else math.nan

    out = {"all": {"without": fused_auroc(sources, inputs)}}
    if len(sources) > 1:
        for name in sources:
            out[name] = {"weight": weights.get(name, math.nan), "without": fused_auroc({k: v for k, v in sources.items() if k != name}, inputs)}
    verdicts = {f: None for f in ("judge", "judge_count", "judges", "human", "human_count", "humans", "audit")
                if getattr(inputs, f, None) is not None}
    if verdicts:
        out["judge+human"] = {"without": fused_auroc(sources, dataclasses.replace(inputs, **verdicts))}
    return out, strengths


def _judge_arm(wh: Warehouse, base: dict, flip: np.ndarray, rate: float, seed: int, args, clock, main_out: dict) -> dict:
    """The SIMULATED judge: judge every pair through ``curate.judge.run``, noise again, a second default release."""
    accuracy, bias = args.judge_accuracy, args.judge_position_bias
    server = subprocess.Popen([sys.executable, str(SIM_JUDGE), "--pairs", str(base["pairs_file"]), "--accuracy", str(accuracy),
                               "--position-bias", str(bias), "--seed", str(seed)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        model = f"simulated-judge-acc{accuracy:g}-bias{bias:g}-seed{seed}"
        with clock("judge (simulated)"):
            judge.run(wh, judge.JudgeConfig(base_url=f"http://127.0.0.1:{port}/v1", model=model))
    finally:
        server.terminate()
        server.wait()
    fusion: dict = {}
    with clock("noise (with simulated judge)"), _recording_fusion(fusion):  # the default config reads the judge's verdicts
        noise_run = noise.run(wh, NoiseConfig())
    with clock("release (with simulated judge)"):
        release.run(wh, release.ReleaseConfig(name="curated-simjudge"))
    with clock("measure (with simulated judge)"):
        state = _read(wh, base, flip, "curated-simjudge") | {"fusion": fusion}
        measured = _measure(state, flip, rate, seed, base["cfg"], wh, noise_run.details)
        with wh.connect(read_only=True) as con:
            reliabilities = dict(con.execute("SELECT annotator, reliability FROM noise_reliabilities WHERE run_id = ?",
                                             [noise_run.run_id]).fetchall())
            verdicts = con.execute("SELECT pair_id, verdict FROM judge_pair_verdicts WHERE consistent").fetchall()
    index = {p: i for i, p in enumerate(base["pair_ids"])}
    right = [(v == "chosen") != flip[index[p]] for p, v in verdicts if v in ("chosen", "rejected")]
    judges = {k: v for k, v in reliabilities.items() if model in k}  # its judge versions, not the label or the RM sources
    measured.update(scripted=accuracy, bias=bias, realized=float(np.mean(right)) if right else math.nan,
                    coverage=len(right) / len(flip), reliability=float(np.mean(list(judges.values()))) if judges else math.nan,
                    rm_only_auroc=main_out["methods"].get(FUSED, {}).get("auroc", math.nan))
    return measured


def _human_arm(wh: Warehouse, base: dict, flip: np.ndarray, rate: float, seed: int, args, clock, previous: dict) -> dict:
    """SIMULATED annotators: one batch routed by the default policy, each pair answered by every simulated
    annotator (right with its scripted accuracy), written as the pull would write them; noise again, a release.

    ``previous`` is the run this arm builds on (the simulated judge's, when that arm ran): its release and its
    fused scores are the "before" on the pairs no annotator saw."""
    index = {p: i for i, p in enumerate(base["pair_ids"])}
    before = _read(wh, base, flip, previous["release"])
    accuracies = [float(a) for a in args.human_accuracy.split(",")]
    with wh.connect(read_only=True) as con:
        routes = route(con, RoutingPolicy(limit=args.human_pairs, seed=seed))
    rng = np.random.default_rng(5000 + seed)
    batch, now = f"annotate_push-simulated-{seed}", utcnow()
    verdicts = []
    for r in routes:
        label_right = not flip[index[r.pair_id]]
        for k, accuracy in enumerate(accuracies):
            says_right = label_right if rng.random() < accuracy else not label_right
            verdicts.append(HumanVerdict(pair_id=r.pair_id, annotator=f"simulated-{k}-acc{accuracy:g}", strength=2 if says_right else -2,
                                         origin="simulated:curation-benchmark", annotation_id=f"{seed}-{k}-{r.pair_id}", batch_id=batch))
    with wh.transaction(batch, "simulated annotation batch") as tx:
        tx.append(ANNOTATION_BATCHES, [{"batch_id": batch, "tool": "simulated", "server": None, "project_id": None,
                                        "project": "simulated annotators", "overlap": len(accuracies), "show_suggestions": False,
                                        "routing": RoutingPolicy(limit=args.human_pairs, seed=seed).model_dump_json(),
                                        "reasons": orjson.dumps(reasons_count(routes)).decode(), "pairs": len(routes),
                                        "run_id": batch, "created_at": now}])
        tx.append(ANNOTATION_TASKS, [{"batch_id": batch, "pair_id": r.pair_id, "task_id": i, "left_is_chosen": True,
                                      "route_reason": r.reason.value, "p_wrong": r.p_wrong, "run_id": batch, "created_at": now}
                                     for i, r in enumerate(routes)])
        rows, _ = new_versions(tx.con, verdicts, run_id=batch, now=now)
        tx.append(ANNOTATIONS, rows)
    fusion: dict = {}
    with clock("noise (with simulated annotators)"), _recording_fusion(fusion):
        noise_run = noise.run(wh, NoiseConfig())
    with clock("release (with simulated annotators)"):
        release.run(wh, release.ReleaseConfig(name="curated-humans"))
    after = _read(wh, base, flip, "curated-humans") | {"fusion": fusion}
    measured = _measure(after, flip, rate, seed, base["cfg"], wh, noise_run.details)
    unseen = np.ones(len(flip), bool)
    unseen[[index[r.pair_id] for r in routes]] = False
    with wh.connect(read_only=True) as con:
        reliabilities = dict(con.execute("SELECT annotator, reliability FROM noise_reliabilities WHERE run_id = ?",
                                         [noise_run.run_id]).fetchall())
        audit = con.execute("SELECT pairs, label_wrong_rate, label_wrong_low, label_wrong_high FROM annotation_audit "
                            "WHERE batch_id = '*' AND source = '*'").fetchone()
        decided = con.execute("SELECT count(*) FROM release_rows WHERE release = 'curated-humans' AND reason LIKE 'human%'").fetchone()[0]
    realized = {v.annotator: [] for v in verdicts}
    for v in verdicts:
        realized[v.annotator].append((v.strength > 0) != flip[index[v.pair_id]])
    measured.update(
        built_on=previous["release"], pairs=len(routes), reasons=reasons_count(routes), human_decided=decided,
        unseen={"before": _unseen(before, flip, unseen), "after": _unseen(after, flip, unseen)},
        rate_error={"before": abs(previous["noise_rate"] - rate), "after": abs(measured["noise_rate"] - rate)},
        annotators={name: {"scripted": accuracies[k], "realized": float(np.mean(realized[name])),
                           "estimated": reliabilities.get(f"human:{name}", math.nan)} for k, name in enumerate(realized)},
        audit=audit)
    return measured


def _unseen(state: dict, flip: np.ndarray, unseen: np.ndarray) -> dict[str, float]:
    """On the pairs no annotator saw: the fused score's detection and calibration, and the release's precision and recall."""
    p, truth = state["scores"][FUSED][unseen], flip[unseen]
    removed = state["decision"][unseen] != "keep"
    return {"auroc": auroc(truth, p) if truth.any() else math.nan, "ece": calibrate.ece(p, truth),
            "precision": float(truth[removed].mean()) if removed.any() else math.nan,
            "recall": float((removed & truth).sum() / truth.sum()) if truth.any() else math.nan}


def _train_rm(wh: Warehouse, base: dict, seed: int, args, clock) -> dict:
    """The ``curate train-rm`` path (``curate.evaluate.train_rm``): fine-tune MiniLM on the train split of the raw
    release and of the curated one (as exported for the Hub), score both on the base warehouse's held-out pairs."""
    import torch
    import transformers
    import trl

    from curate import sequence
    from curate.evaluate import TrainRMConfig, train_rm
    from curate.release import store

    release.run(wh, release.ReleaseConfig(name="raw", policy=load_policy().model_copy(
        update={"min_p_wrong_to_flip": None, "min_p_wrong_to_drop": None})))
    held_out = train_rm.eval_pairs(base["wh"], store.get(base["wh"], "heldout"), args.train_rm_eval_pairs)
    out = {}
    for name in ("raw", "curated"):
        cfg = TrainRMConfig(release=name, max_train_pairs=args.train_rm_pairs, max_eval_pairs=args.train_rm_eval_pairs, seed=seed)
        with clock(f"train-rm ({name})"):
            pairs, _ = train_rm.train_pairs(wh, store.get(wh, name), held_out[1], cfg.max_train_pairs)
            device = "cuda" if torch.cuda.is_available() else "cpu"
            model, tokenizer, seconds = train_rm.fit(torch, transformers, trl, sequence.default_model(), pairs, cfg, device)
            out[name] = {"accuracy": train_rm.accuracy(torch, model, tokenizer, held_out[0], cfg), "train_pairs": len(pairs),
                         "eval_pairs": len(held_out[0]), "seconds": seconds, "device": device}
    return out


# ---------------------------------------------------------------------------------------------- metrics


def _detection(truth: np.ndarray, score: np.ndarray) -> dict[str, float]:
    return {"auroc": auroc(truth, score), "auprc": auprc(truth, score), "p_at_k": precision_at_k(truth, score)}


def auroc(truth: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUROC with tied scores counted half."""
    ranks = _ranks(np.nan_to_num(score, nan=-np.inf))
    pos = truth.sum()
    return float((ranks[truth].sum() - pos * (pos + 1) / 2) / (pos * (len(truth) - pos)))


def auprc(truth: np.ndarray, score: np.ndarray) -> float:
    """Average precision: mean precision at the rank of each true flip."""
    hits = truth[np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")]
    return float((np.cumsum(hits) / np.arange(1, len(hits) + 1))[hits].mean())


def precision_at_k(truth: np.ndarray, score: np.ndarray) -> float:
    """Share of flips among the k highest scores, k = the number of flips."""
    return float(truth[np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")[: int(truth.sum())]].mean())


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    if len(values) < len(x):  # average the ranks of ties
        ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]
    return ranks


def _spearman(series: dict[str, np.ndarray]) -> dict[tuple[str, str], float]:
    """Pairwise Spearman correlation of the non-constant series."""
    ranked = {k: _ranks(np.nan_to_num(v)) for k, v in series.items() if np.nanstd(v) > 0}
    names = sorted(ranked)
    return {(a, b): float(np.corrcoef(ranked[a], ranked[b])[0, 1]) for i, a in enumerate(names) for b in names[i + 1:]}


def _ci(values) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds (NaN bounds with one seed)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None and not np.isnan(x)], dtype=float)
    if not len(v):
        return math.nan, math.nan, math.nan
    if len(v) < 2:
        return float(v.mean()), math.nan, math.nan
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def _fmt(values, digits: int = 3, scale: float = 1.0) -> str:
    mean, low, high = (x * scale for x in _ci(values))
    if np.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f}" + ("" if np.isnan(low) else f" [{low:.{digits}f}, {high:.{digits}f}]")


def _mean(values) -> float:
    return _ci(values)[0]


# ---------------------------------------------------------------------------------------------- report


def _plot(runs: list[dict], rates: list[float], path: Path) -> None:
    """Reliability diagram of the fused P(wrong) against the injected flips, pooled over seeds, one panel per rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rates), figsize=(4.6 * len(rates), 4.4), squeeze=False)
    for ax, rate in zip(axes[0], rates):
        for label, key in (("RM evidence", None), ("RM + simulated judge", "judge")):
            cal = [(r[key] if key else r).get("calibration") for r in runs if r["rate"] == rate and (key is None or key in r)]
            cal = [c for c in cal if c]
            if not cal:
                continue
            p, y = np.concatenate([c["p"] for c in cal]), np.concatenate([c["y"] for c in cal])
            points = list(zip(*calibrate.reliability(p, y, 10)))
            ax.plot([b[0] for b in points], [b[1] for b in points], marker="o", label=f"{label} (ECE {calibrate.ece(p, y):.3f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set(title=f"{rate:.0%} flips injected", xlabel="fused P(wrong), binned", ylabel="share injected flips", xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _report(args, rates, runs, base, elapsed, load_before, plot) -> str:
    at = {rate: [r for r in runs if r["rate"] == rate] for rate in rates}
    seeds = args.seeds
    lines = [f"# Curation benchmark: the default path end to end, on {seeds} seed{'s' if seeds != 1 else ''}", "",
             *header(load_before), _setup(args, base, runs), ""]
    lines += _detection_table(rates, at, seeds)
    lines += _release_table(rates, at)
    lines += _downstream_table(rates, at)
    lines += _calibration_table(rates, at, plot)
    lines += _ablation_tables(rates, at)
    if args.judge_arm:
        lines += _judge_table(rates, at)
    if args.human_arm:
        lines += _human_table(rates, at)
    if args.train_rm:
        lines += _train_rm_table(rates, at)
    lines += _runtime_table(runs, base, elapsed)
    lines += ["## Targets", "", *_verdicts(args, rates, at, runs, base, elapsed), ""]
    return "\n".join(lines)


def _setup(args, base, runs) -> str:
    cached = sorted({r["embed"].get("cached", 0) for r in runs})
    embedded = sorted({r["embed"].get("embedded", 0) for r in runs})
    kind = "cold" if base["cold"] else "warm"
    return (f"- data: `{args.data.name}`, {len(base['pair_ids']):,} accepted pairs; embeddings `{base['model']}`; {kind} base "
            f"warehouse ({base['embedded']:,} texts embedded for it)\n"
            f"- per (rate, seed): relabeled file -> `curate.ingest.run` into a fresh warehouse -> its `embeddings` table seeded "
            f"from the base (keyed by model and text hash) -> `curate.embed.run`, which embedded {', '.join(map(str, embedded))} "
            f"and found {', '.join(f'{c:,}' for c in cached)} texts cached -> `curate.noise.run(wh, NoiseConfig())` -> release "
            f"`curated` with the packaged default policy; decisions read back from `release_rows`\n"
            f"- injected rates {args.rates}; seeds 0..{args.seeds - 1}; intervals are 95% t-intervals over seeds (none with one seed)")


def _methods(at: dict, key: str | None = None) -> list[str]:
    found = []
    for rs in at.values():
        for r in rs:
            for m in (r[key] if key else r)["methods"]:
                if m not in found:
                    found.append(m)
    return sorted(found, key=lambda m: (m == "oracle", m == FUSED, m))


def _detection_table(rates, at, seeds) -> list[str]:
    lines = [f"## Detection of the injected flips (mean [95% CI] over {seeds} seeds)", "",
             "`oracle`: the same cross-fitted linear head on the same features trained on the CLEAN labels, minus its margin "
             "on the noisy orientation.", "", "| injected | method | AUROC | AUPRC | P@k |", "|---|---|---|---|---|"]
    for rate in [r for r in rates if r > 0]:
        for m in _methods({rate: at[rate]}):
            vals = [r["methods"].get(m, {}) for r in at[rate]]
            lines.append(f"| {rate:.0%} | {m} | " + " | ".join(_fmt([v.get(k, math.nan) for v in vals]) for k in ("auroc", "auprc", "p_at_k")) + " |")
    return lines + [""]


def _release_table(rates, at) -> list[str]:
    lines = ["## What the default release removed", "",
             "Precision and recall of the dropped or flipped pairs against the injected flips; stated precision: the mean "
             "fused P(wrong) of the removed pairs, what the release claims.", "",
             "| injected | dropped | flipped | precision | recall | stated precision | fused noise-rate estimate |", "|---|---|---|---|---|---|---|"]
    for rate in rates:
        rs = at[rate]
        lines.append(f"| {rate:.0%} | {_fmt([r['dropped'] for r in rs])} | {_fmt([r['flipped'] for r in rs])} | "
                     f"{_fmt([r.get('precision', math.nan) for r in rs])} | {_fmt([r.get('recall', math.nan) for r in rs])} | "
                     f"{_fmt([r['stated_precision'] for r in rs])} | {_fmt([r['noise_rate'] for r in rs])} |")
    return lines + [""]


def _downstream_table(rates, at) -> list[str]:
    lines = ["## Downstream: the same reward head trained on clean, noisy and curated labels", "",
             "One cross-fitted linear head on the MiniLM features (`rm.cross_fit_variants`, folds by prompt), accuracy on "
             "held-out folds against the ORIGINAL labels; curated: dropped pairs weight 0, flipped pairs sign -1. "
             "R = (curated - noisy) / (clean - noisy).", "",
             "| injected | acc clean | acc noisy | clean - noisy (points): R's denominator | acc curated | R | curated - clean (points) |",
             "|---|---|---|---|---|---|---|"]
    for rate in rates:
        rs = at[rate]
        acc = {k: [r["acc"][k] for r in rs] for k in ("clean", "noisy", "curated")}
        lost = [100 * (r["acc"]["curated"] - r["acc"]["clean"]) for r in rs]
        gap = [100 * (c - n) for c, n in zip(acc["clean"], acc["noisy"])]
        lines.append(f"| {rate:.0%} | {_fmt(acc['clean'])} | {_fmt(acc['noisy'])} | {_fmt(gap, 2)} | {_fmt(acc['curated'])} | "
                     f"{_fmt([r.get('R', math.nan) for r in rs], 2) if rate > 0 else '—'} | {_fmt(lost, 2)} |")
    return lines + [""]


def _calibration_table(rates, at, plot) -> list[str]:
    lines = ["## Calibration of the fused P(wrong) against the injected flips", "",
             "ECE and Brier by `curate.noise.calibrate` (ece, brier, reliability: 10 equal-width bins); Brier of the constant injected share for reference. Reliability diagram: `{plot.name}`.", "",
             "| injected | ECE | Brier | Brier of the constant rate |", "|---|---|---|---|"]
    for rate in rates:
        rs = [r for r in at[rate] if "calibration" in r]
        if rs:
            lines.append(f"| {rate:.0%} | {_fmt([r['calibration']['ece'] for r in rs])} | {_fmt([r['calibration']['brier'] for r in rs])} | "
                         f"{_fmt([float(r['calibration']['y'].mean() * (1 - r['calibration']['y'].mean())) for r in rs])} |")
    return lines + [""]


def _ablation_tables(rates, at) -> list[str]:
    lines = ["## Ablation: the fused score's evidence sources", "",
             "The fusion (`curate.noise.methods.fuse`) re-run on the very arrays the noise stage fused, with one source left "
             "out (the EM refits); `all`: nothing left out (equals the stage's fused AUROC); `judge+human`: every verdict "
             "source left out. Weight: the source's share of the reward-model evidence in the stage's fusion; AUROC alone: "
             "the source's own `noise_scores` score; change: fused AUROC without it minus with everything (negative: the source helps).", "",
             "| injected | run | left out | weight | AUROC alone | fused AUROC without it | change |", "|---|---|---|---|---|---|---|"]
    for rate in [r for r in rates if r > 0]:
        for label, k in (("RM evidence", None), ("RM + simulated judge", "judge")):
            rs = [(r[k] if k else r) for r in at[rate] if k is None or k in r]
            names = list(dict.fromkeys(s for r in rs for s in r.get("ablation", {})))
            everything = [r["ablation"]["all"]["without"] for r in rs if "all" in r.get("ablation", {})]
            for source in names:
                vals = [r["ablation"].get(source, {}) for r in rs]
                alone = [r["methods"].get(source, {}).get("auroc", math.nan) for r in rs] if source != "all" else []
                change = [v.get("without", math.nan) - a for v, a in zip(vals, everything)] if source != "all" else []
                lines.append(f"| {rate:.0%} | {label} | {source} | {_fmt([v.get('weight', math.nan) for v in vals])} | {_fmt(alone)} | "
                             f"{_fmt([v.get('without', math.nan) for v in vals])} | {_fmt(change) if change else '—'} |")
    if len(lines) == 6:
        lines.append("| — | — | this library's noise stage has no `methods.fuse` to re-run: no ablation | | | | |")
    lines += ["", "Pairwise Spearman between the methods' scores in `noise_scores`, and between the fusion sources' strengths, "
              "mean over seeds, rates and runs (with the simulated judge too, when it ran); at or above 0.95 is flagged redundant.",
              "", "| set | a | b | Spearman | flag |", "|---|---|---|---|---|"]
    pooled: dict[tuple[str, str, str], list[float]] = {}
    for rs in at.values():
        for r in rs:
            for source in (r, r.get("judge") or {}):
                for group, pairs in source.get("spearman", {}).items():
                    for (a, b), rho in pairs.items():
                        pooled.setdefault((group, a, b), []).append(rho)
    for (group, a, b), rhos in sorted(pooled.items(), key=lambda kv: (kv[0][0], -_mean(kv[1]))):
        lines.append(f"| {group} | {a} | {b} | {_mean(rhos):.3f} | {'>= 0.95: redundant' if _mean(rhos) >= 0.95 else ''} |")
    return lines + [""]


def _judge_table(rates, at) -> list[str]:
    lines = ["## SIMULATED judge arm (`benchmarks/sim_judge.py`: scripted, not a model)", "",
             "Each pair judged in both orders through `curate.judge.run` against the simulated endpoint, then `curate.noise.run` "
             "again and release `curated-simjudge`. Realized accuracy: share of its position-consistent verdicts that name the "
             "original chosen response; estimated: the fused EM's reliability (`noise_reliabilities`).", "",
             "| injected | scripted accuracy | position bias | consistent coverage | realized accuracy | estimated reliability | "
             "fused AUROC, RM only | fused AUROC, RM + simulated judge | gain | release precision | recall | acc curated | R |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rate in rates:
        js = [r["judge"] for r in at[rate] if "judge" in r]
        if not js:
            continue
        get = lambda k: [j.get(k, math.nan) for j in js]  # noqa: E731
        fused = [j["methods"].get(FUSED, {}).get("auroc", math.nan) for j in js]
        lines.append(f"| {rate:.0%} | {js[0]['scripted']:g} | {js[0]['bias']:g} | {_fmt(get('coverage'))} | {_fmt(get('realized'))} | "
                     f"{_fmt(get('reliability'))} | {_fmt(get('rm_only_auroc')) if rate > 0 else '—'} | {_fmt(fused) if rate > 0 else '—'} | "
                     f"{_fmt([f - o for f, o in zip(fused, get('rm_only_auroc'))]) if rate > 0 else '—'} | {_fmt(get('precision'))} | "
                     f"{_fmt(get('recall'))} | {_fmt([j['acc']['curated'] for j in js])} | {_fmt(get('R'), 2) if rate > 0 else '—'} |")
    return lines + [""]


def _human_table(rates, at) -> list[str]:
    lines = ["## SIMULATED annotators arm (scripted verdicts, not people)", "",
             "One batch routed by the default `RoutingPolicy` (audit share and targeted reasons), every pair answered by each "
             "simulated annotator (right with its scripted accuracy), written to `annotations` as a pull writes them; then "
             "`curate.noise.run` again and release `curated-humans`, built on the release named in `after`. The loop closing: "
             "the fused score and the release on the pairs NO annotator saw, before and after the batch (AUROC, ECE of the "
             "fused P(wrong), release precision and recall), and the error of the estimated noise rate. Audit: "
             "`annotation_audit`'s label-wrong rate with its Wilson 95% interval, per seed.", "",
             "| injected | after | batch | routed by | annotators: scripted / realized / estimated accuracy | decided by humans | "
             "audit label-wrong [95%] |", "|---|---|---|---|---|---|---|"]
    rows = ["", "| injected | measure on unseen pairs | before | after | change |", "|---|---|---|---|---|"]
    for rate in rates:
        hs = [r["human"] for r in at[rate] if "human" in r]
        if not hs:
            continue
        people = "; ".join(f"{a['scripted']:g} / {_fmt([h['annotators'][n]['realized'] for h in hs])} / "
                           f"{_fmt([h['annotators'][n]['estimated'] for h in hs])}" for n, a in hs[0]["annotators"].items())
        reasons = ", ".join(f"{k} {np.mean([h['reasons'].get(k, 0) for h in hs]):.0f}" for k in sorted(hs[0]["reasons"]))
        audit = "; ".join(f"{a[1]:.3f} [{a[2]:.3f}, {a[3]:.3f}] of {a[0]}" for a in (h["audit"] for h in hs) if a) or "—"
        lines.append(f"| {rate:.0%} | {hs[0]['built_on']} | {_fmt([h['pairs'] for h in hs], 0)} | {reasons} | {people} | "
                     f"{_fmt([h['human_decided'] for h in hs], 0)} | {audit} |")
        measures = [("fused AUROC", "unseen", "auroc"), ("fused ECE", "unseen", "ece"), ("release precision", "unseen", "precision"),
                    ("release recall", "unseen", "recall"), ("noise-rate error (all pairs)", "rate_error", None)]
        for label, group, key in measures:
            pick = (lambda h, side: h[group][side][key]) if key else (lambda h, side: h[group][side])
            b, a = [pick(h, "before") for h in hs], [pick(h, "after") for h in hs]
            rows.append(f"| {rate:.0%} | {label} | {_fmt(b)} | {_fmt(a)} | {_fmt([y - x for x, y in zip(b, a)])} |")
    return lines + rows + [""]


def _train_rm_table(rates, at) -> list[str]:
    lines = ["## Fine-tuned reward model (`curate.evaluate.train_rm`): raw vs curated release", "",
             "MiniLM fine-tuned with TRL on the train split of each release as exported for the Hub (the first N by pair_id, "
             "prompts of the held-out set left out), scored on the base warehouse's release `heldout` (30% of the prompts, "
             "ORIGINAL labels).", "", "| injected | seeds | train pairs raw / curated | held-out pairs | acc raw | acc curated | "
             "curated - raw (points) | fit seconds each | device |", "|---|---|---|---|---|---|---|---|---|"]
    for rate in rates:
        ts = [r["train_rm"] for r in at[rate] if "train_rm" in r]
        if ts:
            diff = [100 * (t["curated"]["accuracy"] - t["raw"]["accuracy"]) for t in ts]
            lines.append(f"| {rate:.0%} | {len(ts)} | {_mean([t['raw']['train_pairs'] for t in ts]):.0f} / "
                         f"{_mean([t['curated']['train_pairs'] for t in ts]):.0f} | {ts[0]['raw']['eval_pairs']} | "
                         f"{_fmt([t['raw']['accuracy'] for t in ts])} | {_fmt([t['curated']['accuracy'] for t in ts])} | "
                         f"{_fmt(diff, 2)} | {_mean([t[k]['seconds'] for t in ts for k in ('raw', 'curated')]):.0f} | {ts[0]['raw']['device']} |")
    return lines + [""]


def _runtime_table(runs, base, elapsed) -> list[str]:
    lines = ["## Runtime", "", f"Base warehouse: {base['seconds']:.1f}s ({'cold' if base['cold'] else 'warm'}). "
             f"Per (rate, seed) run, over {len(runs)} runs:", "", "| part | stage | mean s per run | total s |", "|---|---|---|---|"]
    for part, key in (("default path", "time"), ("arms", "arm_time")):
        stages = list(dict.fromkeys(s for r in runs for s in r[key]))
        for s in stages:
            values = [r[key].get(s, 0.0) for r in runs]
            lines.append(f"| {part} | {s} | {np.mean(values):.1f} | {np.sum(values):.1f} |")
        if stages:
            per_run = [sum(r[key].values()) for r in runs]
            lines.append(f"| {part} | all | {np.mean(per_run):.1f} | {np.sum(per_run):.1f} |")
    return lines + ["", f"Total wall time {elapsed:.0f}s; peak RSS {base['rss_default_mb']:.0f} MB after the default path, "
                        f"{_rss_mb():.0f} MB at the end (arms included); {_rss_mb(children=True):.0f} MB the largest child process.", ""]


def _rss_mb(children: bool = False) -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss / 1024


def _verdicts(args, rates, at, runs, base, elapsed) -> list[str]:
    def check(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    lines = []
    for rate in [r for r in rates if r > 0]:
        rs, target = at[rate], TARGETS.get(round(rate, 2), {})
        fused = _mean([r["methods"].get(FUSED, {}).get("auroc", math.nan) for r in rs])
        oracle = _mean([r["methods"]["oracle"]["auroc"] for r in rs])
        parts = [f"fused AUROC {fused:.3f} = {fused / oracle:.3f} of the oracle's {oracle:.3f} (>= {ORACLE_SHARE}): {check(fused >= ORACLE_SHARE * oracle)}"]
        if "auroc" in target:
            parts.insert(0, f"fused AUROC {fused:.3f} (>= {target['auroc']}): {check(fused >= target['auroc'])}")
        for key in ("precision", "recall"):
            if key in target:
                value = _mean([r.get(key, math.nan) for r in rs])
                shown = "n/a (nothing removed)" if np.isnan(value) else f"{value:.3f}"
                parts.append(f"release {key} {shown} (>= {target[key]}): {check(value >= target[key])}")
        if "R" in target:
            value = _mean([r.get("R", math.nan) for r in rs])
            parts.append(f"R {value:.2f} (>= {target['R']}): {check(value >= target['R'])}")
        lines.append(f"- {rate:.0%} injected: " + "; ".join(parts))
    if 0.0 in rates:
        base_rate = _mean([r["noise_rate"] for r in at[0.0]])
        for rate in [r for r in rates if r > 0]:
            expected = base_rate + rate * (1 - 2 * base_rate)  # flips on top of the data's own (estimated) noise
            estimate = _mean([r["noise_rate"] for r in at[rate]])
            lines.append(f"- {rate:.0%} injected: fused noise-rate estimate {estimate:.3f} vs injected + base "
                         f"{expected:.3f} (base: the 0% estimate {base_rate:.3f}; within {RATE_TOLERANCE}): "
                         f"{check(abs(estimate - expected) <= RATE_TOLERANCE)}")
        lost = -_mean([100 * (r["acc"]["curated"] - r["acc"]["clean"]) for r in at[0.0]])
        lines.append(f"- 0% injected: the curated release costs {lost:.2f} points of accuracy (<= {MAX_LOST_POINTS}): {check(lost <= MAX_LOST_POINTS)}")
    if args.judge_arm:
        for rate in rates:
            js = [r["judge"] for r in at[rate] if "judge" in r]
            estimated, realized = _mean([j["reliability"] for j in js]), _mean([j["realized"] for j in js])
            text = (f"- SIMULATED judge, {rate:.0%}: estimated reliability {estimated:.3f} vs scripted accuracy {js[0]['scripted']:g} "
                    f"(realized {realized:.3f}; within {JUDGE_RELIABILITY_TOLERANCE}): {check(abs(estimated - js[0]['scripted']) <= JUDGE_RELIABILITY_TOLERANCE)}")
            if rate > 0:
                gain = _mean([j["methods"][FUSED]["auroc"] - j["rm_only_auroc"] for j in js])
                text += f"; fused AUROC gain over RM evidence alone {gain:+.3f} (>= +{JUDGE_GAIN}): {check(gain >= JUDGE_GAIN)}"
            lines.append(text)
    rss = base["rss_default_mb"]
    grid = (args.seeds, len(rates))
    per_run = np.mean([sum(r["time"].values()) for r in runs])
    if grid == DEFAULT_GRID and not args.judge_arm and not args.train_rm:
        runtime = (f"{elapsed:.0f}s, cold (ingest and embed of the base included): the warm target does not apply, run again" if base["cold"]
                   else f"{elapsed:.0f}s warm (<= {RUNTIME_LIMIT_S}s): {check(elapsed <= RUNTIME_LIMIT_S)}")
    else:  # not the default command: project it from the default path's time per run here
        projected = base["seconds"] + per_run * DEFAULT_GRID[0] * DEFAULT_GRID[1]
        runtime = (f"not the default command: {len(runs)} run(s) at {per_run:.1f}s each on the default path (arms left out) "
                   f"project the default {DEFAULT_GRID[0]} seeds x {DEFAULT_GRID[1]} rates to {projected:.0f}s "
                   f"{'(base cold here)' if base['cold'] else 'warm'} (<= {RUNTIME_LIMIT_S}s): {check(projected <= RUNTIME_LIMIT_S)} (projected)")
    lines.append(f"- runtime: {runtime}; peak RSS of the default path {rss:.0f} MB (< {RSS_LIMIT_MB}): {check(rss < RSS_LIMIT_MB)}")
    return lines


if __name__ == "__main__":
    main()
