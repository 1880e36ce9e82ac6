"""Noise-detection benchmark: planted label flips in real HH-RLHF pairs, found by each noise method.

    .venv/bin/python benchmarks/noise.py [--seeds 5] [--rates 0,0.2,0.4]

The real pairs (``../shared/data/hh-rlhf-harmless-base-test.jsonl.gz``) are ingested and embedded
once into a warehouse under ``benchmarks/.work/noise-wh`` (kept: a second run is warm). For each
injected rate and seed, a random share of the labels is flipped (chosen and rejected swapped) and
``curate.noise.methods.score_all`` (the code ``curate noise`` runs) scores the relabeled pairs.

Reported per method, mean ± std over seeds:
- detection of the planted flips: AUROC, AUPRC, precision@k (k = number of flips);
- downstream: the same linear reward head cross-fitted on clean, noisy, and noisy-then-cleaned labels,
  accuracy against the ORIGINAL labels on held-out folds; cleaning drops (or flips) the share of pairs
  with the highest score that the method's own noise-rate estimate names (for confident learning: its
  pruned set), so no threshold looks at the truth; R = (cleaned - noisy) /
  (clean - noisy), and at 0% the accuracy cleaning costs;
- the noise-rate estimate against the injected rate: the raw estimate, its excess over the 0% estimate,
  and that excess corrected for the data's own noise n0 (flips on top of noise n0 give
  n0 + rate * (1 - 2 n0), so rate = (est - n0) / (1 - 2 n0)).
Also, as a reference computed in the same run: the same single head cross-fitted on the clean and on
the noisy labels, used directly as a flip score (minus its margin), which bounds what a better-trained
head of these features can detect.
Writes ``benchmarks/results/noise.md`` and ``benchmarks/results/noise_roc.png`` (``--out``); every number
and sentence in them is computed by the run, with the command, commit, machine and load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance import header  # noqa: E402

from curate import embed, ingest  # noqa: E402
from curate.noise.config import NoiseConfig  # noqa: E402
from curate.noise import rm  # noqa: E402
from curate.noise import methods as nm  # noqa: E402
from curate.noise.confident import canonical_classes  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402
from schemas.vocab import NoiseMethod  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
WORK = ROOT / "benchmarks" / ".work" / "noise-wh"
RESULTS = ROOT / "benchmarks" / "results"
M = NoiseMethod
METHODS = (M.BT, M.ENSEMBLE, M.CONFIDENT, M.DYNAMICS, M.PEER, M.FUSED)
BASELINES = (M.BT, M.ENSEMBLE, M.CONFIDENT)
TARGET_GAIN = 0.03  # AUROC over the best baseline
STRETCH = {0.2: (0.72, 0.3), 0.4: (0.65, 0.6)}  # injected rate: (AUROC, R drop)
RATE_TOLERANCE = 0.05  # corrected noise-rate estimate within this of the injected rate
MAX_CLEAN_COST_POINTS = 0.5  # accuracy cleaning may cost at 0% injected
RUNTIME_LIMIT_S = {"cold": 600, "warm": 180}
RSS_LIMIT_MB = 2048


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rates", default="0,0.2,0.4")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--warehouse", type=Path, default=WORK, help="where the ingested, embedded pairs are kept between runs")
    parser.add_argument("--embed-backend", default=None, help="embedding backend (default: what `curate noise` uses)")
    parser.add_argument("--out", type=Path, default=RESULTS / "noise.md", help="report; the ROC plot goes next to it")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    load_before = os.getloadavg()
    started = time.time()
    noise_cfg = NoiseConfig()
    embed_cfg = noise_cfg.embedding if args.embed_backend is None else noise_cfg.embedding.model_copy(update={"backend": args.embed_backend})
    data, prep = _prepare(args.data, args.warehouse, embed_cfg)
    rm_cfg = noise_cfg.rm
    rows: dict[tuple[float, str], dict[str, list[float]]] = {}
    estimates: dict[float, dict[str, list[float]]] = {}
    bounds: dict[float, dict[str, list[float]]] = {}
    roc: dict[float, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for rate in rates:
        for seed in range(args.seeds):
            t = time.time()
            _one(data, rate, seed, noise_cfg, rows, estimates, bounds, roc)
            print(f"rate={rate:.0%} seed={seed}: {time.time() - t:.1f}s", file=sys.stderr, flush=True)
    elapsed = time.time() - started
    table = _table(rates, rows)
    rate_table = _rate_table(rates, estimates)
    verdicts = _verdicts(rates, rows, estimates, elapsed, prep)
    reading = _reading(rates, rows, estimates, bounds)
    print(table, rate_table, verdicts, reading, sep="\n\n")
    plot = args.out.with_name(args.out.stem + "_roc.png")
    _plot(roc, plot)
    _write(args, rm_cfg, table, rate_table, verdicts, reading, elapsed, prep, load_before, plot)


def _prepare(path: Path, where: Path, cfg: embed.EmbedConfig) -> tuple[dict, dict]:
    """Ingest and embed once (cold), or reuse the cached warehouse (warm)."""
    t = time.time()
    fresh = not (where / "warehouse.yaml").exists()
    wh = Warehouse.init(where)
    if fresh:
        ingest.run(wh, ingest.IngestConfig(source=str(path), detect_language=False))
    embedded = embed.run(wh, cfg)
    with wh.connect(read_only=True, views=False) as con:
        meta = con.execute("SELECT pair_id, prompt_id, chosen_hash, rejected_hash, "
                           "array_to_string(list_transform(prompt, m -> m.role || ': ' || m.content), '\n'), "
                           "chosen.content, rejected.content FROM pairs ORDER BY pair_id").fetchall()
    feats = embed.pair_features(wh, cfg, [m[0] for m in meta])
    data = {"prompt": feats.prompt, "chosen": feats.chosen, "rejected": feats.rejected,
            "groups": np.array([m[1] for m in meta]), "chosen_hash": [m[2] for m in meta], "rejected_hash": [m[3] for m in meta],
            "texts": ([m[4] for m in meta], [m[5] for m in meta], [m[6] for m in meta])}
    prep = {"seconds": time.time() - t, "embedded": embedded.outcomes["embedded"], "cached": embedded.outcomes["cached"],
            "pairs": len(meta), "cold": fresh or embedded.outcomes["embedded"] > 0, "ingested": fresh,
            "model": cfg.model, "backend": cfg.backend, "model_id": embedded.details["model"], "dim": int(feats.prompt.shape[1])}
    print(f"prepared {len(meta)} pairs in {prep['seconds']:.1f}s ({prep['embedded']} texts embedded)", file=sys.stderr)
    return data, prep


def _one(data: dict, rate: float, seed: int, noise_cfg: NoiseConfig, rows, estimates, bounds, roc) -> None:
    n = len(data["prompt"])
    rng = np.random.default_rng(1000 + seed)
    flip = np.zeros(n, bool)
    flip[rng.choice(n, int(round(rate * n)), replace=False)] = True
    f = flip[:, None]
    chosen, rejected = np.where(f, data["rejected"], data["chosen"]), np.where(f, data["chosen"], data["rejected"])
    ch = [r if x else c for c, r, x in zip(data["chosen_hash"], data["rejected_hash"], flip)]
    rh = [c if x else r for c, r, x in zip(data["chosen_hash"], data["rejected_hash"], flip)]
    cfg = noise_cfg.rm.model_copy(update={"seed": seed})
    prompts, chosen_texts, rejected_texts = data["texts"]
    texts = (prompts, [r if x else c for c, r, x in zip(chosen_texts, rejected_texts, flip)],
             [c if x else r for c, r, x in zip(chosen_texts, rejected_texts, flip)])
    inputs = nm.Inputs(prompt=data["prompt"], chosen=chosen, rejected=rejected, classes=canonical_classes(ch, rh),
                       groups=data["groups"], texts=texts)
    scores = nm.score_all(inputs, noise_cfg.model_copy(update={"rm": cfg}), METHODS)
    est = estimates.setdefault(rate, {})
    est.setdefault("rm", []).append(scores[M.BT].noise_rate)
    est.setdefault("confident", []).append(scores[M.CONFIDENT].noise_rate)
    est.setdefault("fused", []).append(scores[M.FUSED].noise_rate)

    # Downstream: one linear head cross-fitted on its own split, trained once per relabeling (clean, noisy,
    # and each method's drop and flip), all in one batched fit; accuracy is against the original labels.
    phi = rm.standardize(rm.features(data["prompt"], chosen), rm.features(data["prompt"], rejected))
    folds = rm.fold_ids(n, cfg.folds, seed + 7, data["groups"])
    to_original = np.where(flip, -1.0, 1.0)  # a margin on the noisy orientation -> on the original one
    flagged = {m: scores[m].components["issue"] if m == M.CONFIDENT else _top_share(scores[m].score, scores[m].noise_rate) for m in METHODS}
    ones = np.ones(n)
    variants = [("clean", ones, to_original), ("noisy", ones, ones)]
    for method in METHODS:
        variants += [(f"drop:{method}", (~flagged[method]).astype(float), ones), (f"flip:{method}", ones, np.where(flagged[method], -1.0, 1.0))]
    margins = rm.cross_fit_variants(*phi, folds=folds, cfg=cfg, weights=np.stack([v[1] for v in variants]), signs=np.stack([v[2] for v in variants]))
    acc = {name: float(((margins[:, i] * to_original) > 0).mean()) for i, (name, _, _) in enumerate(variants)}
    if rate > 0:  # the plain head as a flip score (minus its margin on the noisy orientation), trained on clean / noisy labels
        b = bounds.setdefault(rate, {})
        b.setdefault("clean", []).append(auroc(flip, -margins[:, 0]))
        b.setdefault("noisy", []).append(auroc(flip, -margins[:, 1]))
    for method in METHODS:
        s = scores[method]
        r = rows.setdefault((rate, method), {})
        for key, value in (("acc_clean", acc["clean"]), ("acc_noisy", acc["noisy"]), ("acc_drop", acc[f"drop:{method}"]),
                           ("acc_flip", acc[f"flip:{method}"]), ("flagged", flagged[method].mean())):
            r.setdefault(key, []).append(value)
        if rate > 0:
            gap = acc["clean"] - acc["noisy"]
            r.setdefault("R_drop", []).append((acc[f"drop:{method}"] - acc["noisy"]) / gap if abs(gap) > 1e-9 else np.nan)
            r.setdefault("R_flip", []).append((acc[f"flip:{method}"] - acc["noisy"]) / gap if abs(gap) > 1e-9 else np.nan)
            r.setdefault("auroc", []).append(auroc(flip, s.score))
            r.setdefault("auprc", []).append(auprc(flip, s.score))
            r.setdefault("p_at_k", []).append(precision_at_k(flip, s.score))
            if seed == 0:
                roc.setdefault(rate, {})[method] = roc_curve(flip, s.score)


def _top_share(score: np.ndarray, rate: float) -> np.ndarray:
    """The ``rate`` share of pairs with the highest score: cleaning sized by the method's own noise-rate estimate."""
    flagged = np.zeros(len(score), bool)
    flagged[np.argsort(-score, kind="stable")[: int(round(rate * len(score)))]] = True
    return flagged


def auroc(truth: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUROC with tied scores counted half."""
    ranks = _ranks(score)
    pos = truth.sum()
    return float((ranks[truth].sum() - pos * (pos + 1) / 2) / (pos * (len(truth) - pos)))


def auprc(truth: np.ndarray, score: np.ndarray) -> float:
    """Average precision: mean precision at the rank of each true flip."""
    order = np.argsort(-score, kind="stable")
    hits = truth[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def precision_at_k(truth: np.ndarray, score: np.ndarray) -> float:
    k = int(truth.sum())
    return float(truth[np.argsort(-score, kind="stable")[:k]].mean())


def roc_curve(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-score, kind="stable")
    hits = truth[order]
    tpr = np.r_[0, np.cumsum(hits) / hits.sum()]
    fpr = np.r_[0, np.cumsum(~hits) / (~hits).sum()]
    return fpr, tpr


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    if len(values) < len(x):  # average the ranks of ties
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    return ranks


def _pm(values: list[float], digits: int = 3, scale: float = 1.0) -> str:
    v = np.asarray(values, dtype=float) * scale
    v = v[~np.isnan(v)]
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}" if len(v) else "n/a"


def _table(rates: list[float], rows) -> str:
    head = ("| injected | method | AUROC | AUPRC | P@k | flagged | acc clean | acc noisy | acc drop | acc flip | R drop | R flip |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for rate in rates:
        for method in METHODS:
            r = rows[(rate, method)]
            detect = [_pm(r[k]) for k in ("auroc", "auprc", "p_at_k")] if rate > 0 else ["—"] * 3
            recovery = [_pm(r["R_drop"], 2), _pm(r["R_flip"], 2)] if rate > 0 else ["—", "—"]
            lines.append(f"| {rate:.0%} | {method} | " + " | ".join(
                [*detect, _pm(r["flagged"]), _pm(r["acc_clean"]), _pm(r["acc_noisy"]), _pm(r["acc_drop"]), _pm(r["acc_flip"]), *recovery]) + " |")
    return "\n".join(lines)


def _rate_table(rates: list[float], estimates) -> str:
    lines = ["| injected | estimator | estimate | minus estimate at 0% | corrected: (est - n0) / (1 - 2 n0) |", "|---|---|---|---|---|"]
    for name in ("rm", "confident", "fused"):
        base = np.asarray(estimates[rates[0]][name]).mean() if rates[0] == 0 else 0.0
        for rate in rates:
            est = np.asarray(estimates[rate][name])
            lines.append(f"| {rate:.0%} | {name} | {_pm(est)} | {_pm(est - base)} | {_pm((est - base) / (1 - 2 * base))} |")
    return "\n".join(lines)


def _verdicts(rates, rows, estimates, elapsed: float, prep: dict) -> str:
    def mean(rate, method, key):
        return float(np.nanmean(rows[(rate, method)][key]))

    lines = []
    for rate in [r for r in rates if r > 0]:
        best_base = max(BASELINES, key=lambda m: mean(rate, m, "auroc"))
        best_new = max((M.PEER, M.FUSED), key=lambda m: mean(rate, m, "auroc"))
        gain = mean(rate, best_new, "auroc") - mean(rate, best_base, "auroc")
        lines.append(f"- {rate:.0%}: {best_new} AUROC {mean(rate, best_new, 'auroc'):.3f} vs best baseline {best_base} "
                     f"{mean(rate, best_base, 'auroc'):.3f}: gain {gain:+.3f} (target {TARGET_GAIN:+.2f}): {'PASS' if gain >= TARGET_GAIN else 'MISS'}")
        stretch = STRETCH.get(round(rate, 2))
        if stretch:
            top = max(METHODS, key=lambda m: mean(rate, m, "auroc"))
            top_r = max(METHODS, key=lambda m: mean(rate, m, "R_drop"))
            lines.append(f"  - stretch AUROC {stretch[0]}: best {top} {mean(rate, top, 'auroc'):.3f}: "
                         f"{'PASS' if mean(rate, top, 'auroc') >= stretch[0] else 'MISS'}; stretch R >= {stretch[1]}: best {top_r} "
                         f"R(drop) {mean(rate, top_r, 'R_drop'):.2f}: {'PASS' if mean(rate, top_r, 'R_drop') >= stretch[1] else 'MISS'}")
        if 0.0 in rates:
            base = np.mean(estimates[0.0]["rm"])
            corrected = (np.mean(estimates[rate]["rm"]) - base) / (1 - 2 * base)
            lines.append(f"  - noise rate (rm, corrected for the 0% estimate) {corrected:.3f} vs {rate:.2f}: "
                         f"{'PASS' if abs(corrected - rate) <= RATE_TOLERANCE else 'MISS'} (within {100 * RATE_TOLERANCE:.0f} points)")
    if 0.0 in rates:
        costs = {m: 100 * (mean(0.0, m, "acc_clean") - mean(0.0, m, "acc_drop")) for m in METHODS}
        lines.append(f"- 0% injected, accuracy cleaning (drop) costs (≤ {MAX_CLEAN_COST_POINTS} points): " + "; ".join(
            f"{m} {c:+.2f} {'PASS' if c <= MAX_CLEAN_COST_POINTS else 'MISS'}" for m, c in costs.items()))
    kind = "cold" if prep["cold"] else "warm"
    limit = RUNTIME_LIMIT_S[kind]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    what = ("ingest+embed" if prep["ingested"] else "embed") if prep["cold"] else "loading the cached embeddings"
    lines.append(f"- runtime ({kind}): {elapsed:.0f}s incl. {prep['seconds']:.0f}s {what} (limit {limit}s): "
                 f"{'PASS' if elapsed <= limit else 'MISS'}; peak RSS {rss:.0f} MB (limit {RSS_LIMIT_MB}): {'PASS' if rss <= RSS_LIMIT_MB else 'MISS'}")
    return "\n".join(lines)


def _reading(rates, rows, estimates, bounds) -> str:
    """Observations computed from this run's numbers (no sentence here holds a number the run did not measure)."""
    def mean(rate, method, key):
        return float(np.nanmean(rows[(rate, method)][key]))

    lines = []
    for rate in [r for r in rates if r > 0]:
        clean, noisy = np.mean(bounds[rate]["clean"]), np.mean(bounds[rate]["noisy"])
        best = max(METHODS, key=lambda m: mean(rate, m, "auroc"))
        lines.append(f"- {rate:.0%}: the plain head used as a flip score reaches AUROC {clean:.3f} when trained on the clean "
                     f"labels and {noisy:.3f} when trained on the noisy ones (headroom {clean - noisy:+.3f} for denoising the "
                     f"training); the best method, {best}, reaches {mean(rate, best, 'auroc'):.3f}.")
        gap = 100 * (mean(rate, M.BT, "acc_clean") - mean(rate, M.BT, "acc_noisy"))
        r = np.asarray(rows[(rate, best)]["R_drop"], float)
        r = r[~np.isnan(r)]
        spread = f"R(drop) of {best} {r.mean():.2f} ± {r.std():.2f}" if len(r) else f"R(drop) of {best} undefined"
        lines.append(f"  - accuracy of the head: {mean(rate, M.BT, 'acc_clean'):.3f} clean-trained vs "
                     f"{mean(rate, M.BT, 'acc_noisy'):.3f} noisy-trained: R divides by a gap of {gap:.2f} points ({spread}).")
    positive = [r for r in rates if r > 0]
    for name in ("rm", "confident", "fused"):
        means = [float(np.mean(estimates[r][name])) for r in rates]
        order = "rises with" if all(a < b for a, b in zip(means, means[1:])) else "does not rise monotonically with"
        if 0.0 in rates and positive:
            base = float(np.mean(estimates[0.0][name]))
            corrected = [(float(np.mean(estimates[r][name])) - base) / (1 - 2 * base) for r in positive]
            bias = "; ".join(f"{r:.0%}: {c - r:+.3f}" for r, c in zip(positive, corrected))
            lines.append(f"- noise-rate estimate ({name}): {order} the injected rate; corrected estimate minus injected rate: {bias}.")
        else:
            lines.append(f"- noise-rate estimate ({name}): {order} the injected rate ("
                         + ", ".join(f"{r:.0%}: {m:.3f}" for r, m in zip(rates, means)) + ").")
    if 0.0 in rates:
        shares = ", ".join(f"{m} {mean(0.0, m, 'flagged'):.1%}" for m in METHODS)
        lines.append(f"- share of pairs each method cleans at 0% injected: {shares}.")
    return "\n".join(lines)


def _plot(roc, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(roc), figsize=(5 * len(roc), 4.6), squeeze=False)
    for ax, (rate, curves) in zip(axes[0], sorted(roc.items())):
        for method, (fpr, tpr) in curves.items():
            ax.plot(fpr, tpr, label=f"{method} ({np.trapezoid(tpr, fpr):.3f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set(title=f"{rate:.0%} flips injected (seed 0)", xlabel="false-positive rate", ylabel="true-positive rate")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _write(args, rm_cfg: rm.RMConfig, table: str, rate_table: str, verdicts: str, reading: str, elapsed: float,
           prep: dict, load_before, plot: Path) -> None:
    head = "\n".join(header(load_before))
    kind = "cold" if prep["cold"] else "warm"
    embedded = (f"{prep['embedded']:,} texts embedded, {prep['cached']:,} from the cache" if prep["cold"]
                else f"all {prep['cached']:,} texts from the cache")
    head_kind = "linear" if rm_cfg.hidden == 0 else f"one tanh hidden layer of {rm_cfg.hidden}"
    text = f"""# Noise-detection benchmark

{head}
- data: {prep['pairs']:,} accepted pairs of `{args.data.name}`; embeddings `{prep['model_id']}` (model `{prep['model']}`, \
backend `{prep['backend']}`, dimension {prep['dim']}); {kind} run ({embedded})
- reward heads: {head_kind}, {rm_cfg.folds}-fold cross-fit, {rm_cfg.epochs} epochs, weight decay {rm_cfg.weight_decay}, \
{rm_cfg.members} {'bootstrap ' if rm_cfg.bootstrap else ''}members (ensemble), peer-review drop ratio capped at {rm_cfg.peer_max_rate}
- injected rates {', '.join(f'{float(r):.0%}' for r in args.rates.split(','))}; seeds 0..{args.seeds - 1}; cleaning drops (or flips) \
the top-scored share named by the method's own noise-rate estimate (confident: its pruned set); accuracy is against the original \
labels, on held-out folds

## Detection and downstream recovery (mean ± std over {args.seeds} seeds)

{table}

## Noise-rate estimate vs injected

{rate_table}

## Targets

{verdicts}

ROC curves (seed 0): `{plot.name}`. Total time {elapsed:.0f}s.

## Reading the results (computed from the tables above)

{reading}
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out} and {plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
