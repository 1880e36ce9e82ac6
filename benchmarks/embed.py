"""Embedding benchmark: plain ``SentenceTransformer.encode`` against each curate backend, in the same run.

    python benchmarks/embed.py [--n 2000] [--rounds 3] [--backends onnx-int8,onnx,torch-int8,torch]

Texts are the real ones the embed stage sees: the HH-RLHF harmless-base test file
is ingested into a scratch warehouse, and the distinct prompts (rendered as the
stage renders them) and responses are taken, the first N by content hash. Then,
round after round (other processes share the CPU, so each round times the
baseline right before the backends and only same-round ratios are reported):

- the baseline: ``SentenceTransformer(model).encode(texts)`` with its defaults;
- each backend: ``curate.embed.encode(texts, EmbedConfig(backend=...))``.

Model loading and the one-off ONNX export are timed apart and excluded. Each
backend's vectors are compared with the baseline's: the minimum cosine over all
texts (not just the mean) must be at least 0.99, and the throughput ratio at
least 1.5x. This is a benchmark, not a test: it reports PASS/MISS and never fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate import embed, ingest  # noqa: E402
from curate.embed import encoders  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402
from provenance import command_line, machine  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
TARGET_RATIO = 1.5
TARGET_COSINE = 0.99


def real_texts(n: int, work: Path) -> list[str]:
    """The first ``n`` distinct texts (by content hash) the embed stage would encode for the HH file."""
    wh = Warehouse.init(work / "wh")
    ingest.run(wh, ingest.IngestConfig(source=str(DATA), detect_language=False))
    with wh.connect(read_only=True) as con:
        responses = con.execute(
            "SELECT h, any_value(t) FROM (SELECT chosen_hash h, chosen.content t FROM pairs "
            "UNION ALL SELECT rejected_hash, rejected.content FROM pairs) GROUP BY h").fetchall()
        prompts = con.execute("SELECT prompt_id, any_value(prompt) FROM pairs GROUP BY 1").fetchall()
    texts = dict(responses) | {h: encoders.render_prompt(m) for h, m in prompts}
    return [texts[h] for h in sorted(texts)[:n]]


def timed(fn) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="onnx-int8,onnx,torch-int8,torch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".work" / "embed")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embed.md")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"real data file not found: {DATA}")
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    try:
        texts = real_texts(args.n, args.workdir)
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    backends = [b for b in args.backends.split(",") if b]
    print(f"{len(texts):,} texts, mean {np.mean([len(t) for t in texts]):.0f} chars; backends {backends}", flush=True)

    from sentence_transformers import SentenceTransformer

    load_s = {}
    load_s["plain encode"], plain = timed(lambda: SentenceTransformer(encoders.resolve_model(encoders.DEFAULT_MODEL), device="cpu"))
    configs = {b: embed.EmbedConfig(backend=b, batch_size=args.batch_size) for b in backends}
    for b, cfg in configs.items():
        load_s[b], _ = timed(lambda cfg=cfg: embed.encode(texts[:2], cfg))  # load, and export on first use

    seconds: dict[str, list[float]] = {name: [] for name in ["plain encode", *backends]}
    ratios: dict[str, list[float]] = {b: [] for b in backends}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        base_s, vectors["plain encode"] = timed(lambda: plain.encode(texts, show_progress_bar=False))
        seconds["plain encode"].append(base_s)
        for b, cfg in configs.items():
            s, vectors[b] = timed(lambda cfg=cfg: embed.encode(texts, cfg))
            seconds[b].append(s)
            ratios[b].append(base_s / s)
        print(f"round {r + 1}: " + ", ".join(f"{k} {len(texts) / v[-1]:.0f}/s" for k, v in seconds.items()), flush=True)

    report = render(texts, args, load_s, seconds, ratios, vectors)
    print(report)
    args.out.write_text(report)
    print(f"wrote {args.out}")


def render(texts, args, load_s, seconds, ratios, vectors) -> str:
    n = len(texts)
    base = vectors["plain encode"]
    lines = [
        "# Embedding benchmark",
        "",
        f"- command: `{command_line()}`",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}; load average at the end {os.getloadavg()[0]:.1f} "
        "(other engineers share these cores: read the ratios, not the absolute rates)",
        f"- software: {versions()}",
        f"- texts: {n:,} distinct prompts (rendered last user turn first) and responses from `{DATA.name}`, "
        f"the first by content hash; mean {np.mean([len(t) for t in texts]):.0f} chars, max {max(len(t) for t in texts):,}",
        f"- model: {encoders.DEFAULT_MODEL} (packaged), max 256 word pieces; batch size {args.batch_size}; {args.rounds} rounds, "
        "each timing the baseline right before the backends; ratio = median over rounds of (baseline s / backend s) in the same round",
        f"- targets: throughput at least {TARGET_RATIO}x plain encode, and every text's cosine to plain fp32 encode at least {TARGET_COSINE}",
        "",
        "| encoder | texts/s (median) | ratio vs plain encode | min cosine | mean cosine | p1 cosine | load s | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, times in seconds.items():
        rate = n / statistics.median(times)
        if name == "plain encode":
            lines.append(f"| {name} (baseline) | {rate:.0f} | 1.00x | 1.0000 | 1.0000 | 1.0000 | {load_s[name]:.1f} | baseline |")
            continue
        cos = cosines(base, vectors[name])
        ratio = statistics.median(ratios[name])
        ok = ratio >= TARGET_RATIO and cos.min() >= TARGET_COSINE
        lines.append(f"| curate {name} | {rate:.0f} | {ratio:.2f}x | {cos.min():.4f} | {cos.mean():.4f} | "
                     f"{np.percentile(cos, 1):.4f} | {load_s[name]:.1f} | {'PASS' if ok else 'MISS'} |")
    lines += [
        "",
        f"The default backend is `{embed.EmbedConfig().backend}`. Load s includes the one-off ONNX export and int8 "
        "quantization when the cache was cold (it is cached under `~/.cache/curate/onnx/`, keyed by the model's weights).",
        "",
    ]
    return "\n".join(lines)


def versions() -> str:
    import onnxruntime
    import sentence_transformers
    import torch

    return (f"Python {platform.python_version()}, torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}, "
            f"onnxruntime {onnxruntime.__version__}")


if __name__ == "__main__":
    main()
