"""Embedding benchmark: plain ``SentenceTransformer.encode`` against each curate backend, in the same run.

    python benchmarks/embed.py [--n 2000] [--rounds 3] [--backends torch-bf16,onnx,onnx-int8,torch-int8,torch]

Texts are the real ones the embed stage sees: the HH-RLHF harmless-base test file
is ingested into a scratch warehouse, and the distinct prompts (rendered as the
stage renders them) and responses are taken, the first N by content hash.

The baseline does the same work as curate: the same texts, the same model with the
same ``max_seq_length``, batch size and thread count, its own pooling and
normalization (``SentenceTransformer(model).encode(texts)``, fp32). Other processes
may share the CPU, so only same-run ratios are reported: the baseline is timed at the
start and the end of every round, each round times every backend in between (the
order rotates from round to round), and a backend's ratio in a round is the mean of
the two baseline times around it over its own time. Model loading and the one-off
ONNX export are timed apart and excluded. Each backend's vectors are compared with
the baseline's over all texts: the minimum cosine must be at least 0.99 and the
median ratio at least 1.5x. This is a benchmark, not a test: it reports PASS/MISS
from what it measured and never fails.
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
from provenance import command_line, git_head, machine  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
TARGET_RATIO = 1.5
TARGET_COSINE = 0.99
BASELINE = "plain encode"


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
    parser.add_argument("--backends", default="torch-bf16,onnx,onnx-int8,torch-int8,torch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".work" / "embed")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embed.md")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"real data file not found: {DATA}")
    load_start = os.getloadavg()
    started = datetime.now(timezone.utc)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    try:
        texts = real_texts(args.n, args.workdir)
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    backends = [b for b in args.backends.split(",") if b]
    print(f"{len(texts):,} texts, mean {np.mean([len(t) for t in texts]):.0f} chars; backends {backends}", flush=True)

    import torch
    from sentence_transformers import SentenceTransformer

    configs = {b: embed.EmbedConfig(backend=b, batch_size=args.batch_size) for b in backends}
    load_s = {}
    for b, cfg in configs.items():
        load_s[b], _ = timed(lambda cfg=cfg: embed.encode(texts[:2], cfg))  # load, and export on first use
    model = encoders.resolve_model(encoders.DEFAULT_MODEL)
    load_s[BASELINE], plain = timed(lambda: SentenceTransformer(model, device="cpu"))
    curate_st = encoders.load_encoder(model=encoders.DEFAULT_MODEL, backend="torch", max_seq_length=None, threads=None,
                                      cache=None, allow_download=False)
    plain.max_seq_length = curate_st.max_seq_length  # the same truncation as curate's encoders
    setup = {"max_seq_length": plain.max_seq_length, "torch_threads": torch.get_num_threads(),
             "normalized": any(type(m).__name__ == "Normalize" for m in plain)}

    def baseline() -> tuple[float, np.ndarray]:
        return timed(lambda: plain.encode(texts, batch_size=args.batch_size, show_progress_bar=False))

    base_times, vectors = [], {}
    seconds: dict[str, list[float]] = {b: [] for b in backends}
    ratios: dict[str, list[float]] = {b: [] for b in backends}
    s, vectors[BASELINE] = baseline()
    base_times.append(s)
    for r in range(args.rounds):
        order = backends[r % len(backends):] + backends[:r % len(backends)]
        for b in order:
            s, vectors[b] = timed(lambda cfg=configs[b]: embed.encode(texts, cfg))
            seconds[b].append(s)
        s, _ = baseline()
        base_times.append(s)
        around = (base_times[-2] + base_times[-1]) / 2
        for b in backends:
            ratios[b].append(around / seconds[b][-1])
        print(f"round {r + 1}: plain encode {len(texts) / around:.1f}/s, "
              + ", ".join(f"{b} {len(texts) / seconds[b][-1]:.1f}/s ({ratios[b][-1]:.2f}x)" for b in order), flush=True)

    report = render(texts, args, started, load_start, os.getloadavg(), setup, load_s, base_times, seconds, ratios, vectors)
    print(report)
    args.out.write_text(report)
    print(f"wrote {args.out}")


def cpu_flags() -> set[str]:
    try:
        line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags"))
    except (OSError, StopIteration):
        return set()
    return set(line.split(":", 1)[1].split())


def render(texts, args, started, load_start, load_end, setup, load_s, base_times, seconds, ratios, vectors) -> str:
    n = len(texts)
    base = vectors[BASELINE]
    flags = cpu_flags()
    bf16_hw = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    int8_hw = [f for f in ("amx_int8", "avx512_vnni", "avx_vnni") if f in flags]
    lines = [
        "# Embedding benchmark",
        "",
        f"- command: `{command_line()}`",
        f"- git commit: {git_head() or 'unknown'} (the working tree may differ from it)",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}; bf16 in hardware: {', '.join(bf16_hw) or 'none'}; int8 dot products: {', '.join(int8_hw) or 'none'}",
        f"- load average (1, 5, 15 min): start {' '.join(f'{x:.1f}' for x in load_start)}, "
        f"end {' '.join(f'{x:.1f}' for x in load_end)}",
        f"- software: {versions()}",
        f"- texts: {n:,} distinct prompts (rendered last user turn first) and responses from `{DATA.name}`, "
        f"the first by content hash; mean {np.mean([len(t) for t in texts]):.0f} chars, max {max(len(t) for t in texts):,}",
        f"- model: {encoders.DEFAULT_MODEL} (packaged); baseline and curate: max_seq_length {setup['max_seq_length']}, "
        f"batch size {args.batch_size}, torch threads {setup['torch_threads']}, "
        f"normalized output: {'yes' if setup['normalized'] else 'no'}",
        f"- {args.rounds} rounds; plain encode timed {len(base_times)} times, at the start and end of every round; "
        "a backend's ratio in a round = mean of the two plain-encode times around it / its time; "
        "cosines over all texts against plain fp32 encode",
        f"- targets: median ratio at least {TARGET_RATIO}x and minimum cosine at least {TARGET_COSINE}",
        "",
        "| encoder | texts/s (median) | ratio (median) | ratio per round | min cosine | mean cosine | p1 cosine | load s | verdict |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
        f"| plain encode (baseline) | {n / statistics.median(base_times):.1f} | 1.00x | | 1.0000 | 1.0000 | 1.0000 | "
        f"{load_s[BASELINE]:.1f} | baseline |",
    ]
    exact = {}
    for name, times in seconds.items():
        cos = cosines(base, vectors[name])
        ratio = statistics.median(ratios[name])
        ok = ratio >= TARGET_RATIO and cos.min() >= TARGET_COSINE
        if cos.min() >= TARGET_COSINE:
            exact[name] = ratio
        lines.append(f"| curate {name} | {n / statistics.median(times):.1f} | {ratio:.2f}x | "
                     f"{' '.join(f'{x:.2f}' for x in ratios[name])} | {cos.min():.4f} | {cos.mean():.4f} | "
                     f"{np.percentile(cos, 1):.4f} | {load_s[name]:.1f} | {'PASS' if ok else 'MISS'} |")
    fastest = max(exact, key=exact.get) if exact else None
    lines += [
        "",
        f"- default backend (`EmbedConfig().backend`): `{embed.EmbedConfig().backend}`",
        f"- fastest backend with minimum cosine >= {TARGET_COSINE} in this run: "
        + (f"`{fastest}` ({exact[fastest]:.2f}x)" if fastest else "none"),
        f"- load s: the first 2-text call of each backend (model load, plus the ONNX export or int8 quantization when "
        f"`{encoders.cache_dir() / 'onnx'}` had none), and the baseline's model load",
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
