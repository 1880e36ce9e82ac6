"""Ingest benchmark: `curate ingest` against a raw DuckDB read-and-write of the same file.

    python benchmarks/ingest.py --n 1000000

Generates N synthetic TRL-layout pairs from words in the project's own source
and docs (seeded, streaming), with ~1% exact duplicates and ~0.5% broken rows
so that quarantine does real work. Then, in the same run, it times:

- the baseline: DuckDB reading the JSONL and writing it to Parquet;
- `curate ingest` into a fresh warehouse, with language detection (the default);
- `curate ingest --no-detect-language`.

Each command runs in its own subprocess; its wall time and peak RSS (from
``wait4``) are reported, with the ratio to the baseline. Targets: at most 2x
the baseline time, and peak RSS under 2 GB at 1M pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_RATIO = 2.0
TARGET_RSS_MB = 2048


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_rss_mb: float


def vocabulary() -> list[str]:
    """Words from the project's own code and docs: text the project owns."""
    words: set[str] = set()
    for pattern in ("curate/**/*.py", "schemas/*.py", "README.md", "warehouse/views/*.sql"):
        for path in ROOT.glob(pattern):
            words.update(re.findall(r"[A-Za-z]{3,}", path.read_text(errors="ignore")))
    return sorted(words)


def generate(path: Path, n: int, seed: int = 0) -> dict[str, int]:
    """Stream N rows of JSONL; returns how many duplicates and broken rows were planted."""
    rng = random.Random(seed)
    words = vocabulary()

    def sentence(lo: int, hi: int) -> str:
        return " ".join(rng.choices(words, k=rng.randint(lo, hi))).capitalize() + "."

    planted = {"duplicates": 0, "broken": 0}
    recent: list[str] = []
    with path.open("w") as fh:
        for i in range(n):
            roll = rng.random()
            if roll < 0.01 and recent:
                line = rng.choice(recent)
                planted["duplicates"] += 1
            elif roll < 0.015:
                line = '{"prompt": "truncated row' if rng.random() < 0.5 else json.dumps({"prompt": f"Row {i}", "chosen": "", "rejected": "x"})
                planted["broken"] += 1
            else:
                prompt = f"Question {i}: {sentence(10, 40)}"
                line = json.dumps({"prompt": prompt, "chosen": sentence(20, 80), "rejected": sentence(20, 80)})
                if len(recent) < 1000:
                    recent.append(line)
                else:
                    recent[rng.randrange(1000)] = line
            fh.write(line + "\n")
    return planted


def measure(name: str, argv: list[str]) -> Measurement:
    """Run one command as a child process; wall time and that child's own peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed ({status}):\n{stderr[-2000:]}")
    return Measurement(name, seconds, usage.ru_maxrss / 1024)


def duckdb_baseline(source: Path, out: Path) -> list[str]:
    code = (
        "import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_json(?, format='newline_delimited', ignore_errors=true)) "
        f"TO '{out}' (FORMAT parquet)\".replace('?', repr('{source}')))"
    )
    return [sys.executable, "-c", code]


def reconcile(warehouse: Path) -> dict[str, int]:
    result = subprocess.run(
        [str(BIN / "curate"), "sql", "select outcome, count(*) as n from raw_rows group by 1", "-o", "json", "--warehouse", str(warehouse)],
        capture_output=True, text=True, check=True,
    )
    counts = {row["outcome"]: row["n"] for row in json.loads(result.stdout)}
    pairs = subprocess.run(
        [str(BIN / "curate"), "sql", "select count(*) as n from pairs", "-o", "json", "--warehouse", str(warehouse)],
        capture_output=True, text=True, check=True,
    )
    counts["pairs"] = json.loads(pairs.stdout)[0]["n"]
    return counts


def report(args, n: int, size_mb: float, planted: dict, results: list[Measurement], checks: dict) -> str:
    baseline = results[0]
    lines = [
        "# Ingest benchmark",
        "",
        f"- command: `python benchmarks/ingest.py --n {n}`",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, Python {platform.python_version()}",
        f"- input: {n:,} synthetic TRL pairs, {size_mb:,.0f} MB JSONL; planted {planted['duplicates']:,} duplicates, {planted['broken']:,} broken rows",
        f"- targets: at most {TARGET_RATIO}x the raw DuckDB time; peak RSS under {TARGET_RSS_MB} MB",
        "",
        "| command | wall s | rows/s | peak RSS MB | ratio vs DuckDB | time target | RSS target |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for m in results:
        ratio = m.seconds / baseline.seconds
        is_curate = m is not baseline
        lines.append(
            f"| {m.name} | {m.seconds:.1f} | {n / m.seconds:,.0f} | {m.peak_rss_mb:,.0f} | {ratio:.2f}x | "
            f"{('PASS' if ratio <= TARGET_RATIO else 'MISS') if is_curate else 'baseline'} | "
            f"{('PASS' if m.peak_rss_mb < TARGET_RSS_MB else 'MISS') if is_curate else ''} |"
        )
    lines += ["", "Reconciliation per curate run (rows by outcome, and pairs stored):", ""]
    lines += [f"- {name}: {counts}" for name, counts in checks.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic pairs to generate")
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".work")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest.md")
    args = parser.parse_args()

    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = work / "pairs.jsonl"
    print(f"generating {args.n:,} pairs into {source} ...", flush=True)
    planted = generate(source, args.n)
    size_mb = source.stat().st_size / 1e6

    curate = str(BIN / "curate")
    runs = [
        ("duckdb read_json -> parquet", duckdb_baseline(source, work / "baseline.parquet"), None),
        ("curate ingest", [curate, "ingest", str(source), "--warehouse", str(work / "wh-default")], work / "wh-default"),
        ("curate ingest --no-detect-language", [curate, "ingest", str(source), "--no-detect-language", "--warehouse", str(work / "wh-nolang")], work / "wh-nolang"),
    ]
    results, checks = [], {}
    for name, argv, warehouse in runs:
        print(f"running {name} ...", flush=True)
        results.append(measure(name, argv))
        if warehouse is not None:
            checks[name] = reconcile(warehouse)
            assert sum(v for k, v in checks[name].items() if k != "pairs") == args.n, checks[name]

    text = report(args, args.n, size_mb, planted, results, checks)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
