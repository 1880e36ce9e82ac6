"""Ingest benchmark: `curate ingest` against a raw DuckDB read-and-write of the same file.

    .venv/bin/python benchmarks/ingest.py --n 1000000 [--workdir DIR] [--out benchmarks/results/ingest.md]

Generates N synthetic TRL-layout pairs (``{"prompt", "chosen", "rejected"}``,
all strings, no language) from words in the project's own code and docs, with
a seeded RNG and streamed line by line. About 1% of the rows are exact repeats
of earlier rows and about 0.5% are broken (malformed JSON or an empty chosen),
so that deduplication and quarantine do real work. Then, in the same run (the
machine is noisy, so only same-run ratios mean anything), it times:

- the baseline: DuckDB reading the JSONL and writing it to Parquet;
- `curate ingest` into a fresh warehouse, with language detection (the default);
- `curate ingest --no-detect-language` into another fresh warehouse.

Each command runs in its own child process; its wall time and its own peak RSS
(from ``os.wait4``) are reported with the ratio to the baseline, and each
curate run is checked to reconcile exactly with what was planted. Targets: at
most 2x the baseline time, and peak RSS under 2 GB, at 1M pairs.

The report it prints is the file it writes (``--out``, by default ``benchmarks/results/ingest.md``),
headed by the command, commit, machine and load average read by the script itself.
This is a benchmark, not a test: it reports PASS/MISS and does not fail on a MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from provenance import ROOT, header

from schemas import PAIRS, RAW_ROWS, Outcome

CURATE = Path(sys.executable).parent / "curate"
TARGET_RATIO = 2.0
TARGET_RSS_MB = 2048
DUPLICATE_RATE = 0.01
BROKEN_RATE = 0.005
VOCAB_SOURCES = ("curate/**/*.py", "curate/**/*.md", "schemas/**/*.py", "schemas/**/*.md", "README.md")


@dataclass
class Planted:
    """What the generator wrote, so that each ingest can be checked to account for every row."""

    valid: int = 0
    duplicates: int = 0
    malformed_json: int = 0
    empty_chosen: int = 0

    @property
    def broken(self) -> int:
        return self.malformed_json + self.empty_chosen


@dataclass
class Measurement:
    """One timed child process."""

    name: str
    argv: list[str]
    seconds: float
    peak_rss_mb: float
    counts: dict[str, int] = field(default_factory=dict)


# --- input -------------------------------------------------------------------------------------


def vocabulary() -> list[str]:
    """Words from the project's own code and docs: text the project owns, no download, no licence question."""
    words: set[str] = set()
    for pattern in VOCAB_SOURCES:
        for path in ROOT.glob(pattern):
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{2,}", path.read_text(errors="ignore")))
    if len(words) < 100:
        raise SystemExit(f"only {len(words)} words found under {ROOT}; is this the curate repository?")
    return sorted(words)


class SentenceMaker:
    """Seeded random sentences; ``random.choices`` draws a whole sentence in one call, which keeps 1M rows fast."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words, self.rng = words, rng

    def __call__(self, lo: int, hi: int) -> str:
        text = " ".join(self.rng.choices(self.words, k=self.rng.randint(lo, hi)))
        return text[0].upper() + text[1:] + "."


def generate(path: Path, n: int, seed: int) -> Planted:
    """Stream exactly N JSONL lines to ``path`` and return what was planted among them.

    Valid rows carry their row number in the prompt, so every prompt is unique and
    only the planted repeats are duplicates. Repeats are drawn from a reservoir of
    earlier valid rows so they are spread over the whole file, not just adjacent.
    """
    rng = random.Random(seed)
    sentence = SentenceMaker(vocabulary(), rng)
    planted = Planted()
    reservoir: list[str] = []
    with path.open("w", encoding="utf-8", buffering=1 << 20) as fh:
        for i in range(n):
            roll = rng.random()
            if roll < DUPLICATE_RATE and reservoir:
                line = rng.choice(reservoir)
                planted.duplicates += 1
            elif roll < DUPLICATE_RATE + BROKEN_RATE:
                line = broken_row(i, sentence, rng, planted)
            else:
                line = valid_row(i, sentence)
                planted.valid += 1
                if len(reservoir) < 10_000:
                    reservoir.append(line)
                else:
                    reservoir[rng.randrange(10_000)] = line
            fh.write(line + "\n")
    return planted


def valid_row(i: int, sentence: SentenceMaker) -> str:
    """A TRL standard pair: prompt of ~10-40 words, two different responses of ~20-80 words."""
    chosen = sentence(20, 80)
    rejected = sentence(20, 80)
    while rejected == chosen:
        rejected = sentence(20, 80)
    prompt = f"Question {i}: {sentence(10, 40)}"
    return json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected})


def broken_row(i: int, sentence: SentenceMaker, rng: random.Random, planted: Planted) -> str:
    """Half cut-off JSON lines (malformed_json), half pairs with an empty chosen (empty_content)."""
    if rng.random() < 0.5:
        planted.malformed_json += 1
        return valid_row(i, sentence)[: rng.randint(10, 60)]
    planted.empty_chosen += 1
    return json.dumps({"prompt": f"Question {i}: {sentence(10, 40)}", "chosen": "", "rejected": sentence(20, 80)})


# --- measuring ---------------------------------------------------------------------------------


def measure(name: str, argv: list[str], log: Path) -> Measurement:
    """Run one command as a child process: wall time, and that child's own peak RSS from ``wait4``.

    Output goes to a log file rather than a pipe: a pipe that is not drained while we
    block in ``wait4`` would stall a chatty child once the pipe buffer fills.
    """
    print(f"running {name} ...", flush=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen from waiting again
    if child.returncode != 0:
        raise SystemExit(f"{name} exited {child.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
    peak_mb = usage.ru_maxrss / 1024  # KB on Linux
    print(f"  {seconds:.1f} s, peak RSS {peak_mb:,.0f} MB", flush=True)
    return Measurement(name, argv, seconds, peak_mb)


def duckdb_baseline_argv(source: Path, out: Path) -> list[str]:
    """A fresh Python that only reads the JSONL with DuckDB and writes it back out as Parquet."""
    sql = (
        f"COPY (SELECT * FROM read_json({sql_literal(source)}, format='newline_delimited', ignore_errors=true)) "
        f"TO {sql_literal(out)} (FORMAT parquet)"
    )
    return [sys.executable, "-c", f"import duckdb; duckdb.sql({sql!r})"]


def sql_literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def parquet_rows(path: Path) -> dict[str, int]:
    """What the baseline kept: rows, rows with every column NULL, rows with an empty chosen."""
    import duckdb

    rows, all_null, empty = duckdb.sql(
        f"SELECT count(*), count(*) FILTER (WHERE prompt IS NULL AND chosen IS NULL AND rejected IS NULL), "
        f"count(*) FILTER (WHERE chosen = '') FROM read_parquet({sql_literal(path)})").fetchone()
    return {"rows": rows, "all_null": all_null, "empty_chosen": empty}


def curate_sql(warehouse: Path, query: str) -> list[dict]:
    result = subprocess.run(
        [str(CURATE), "sql", query, "--output", "json", "--warehouse", str(warehouse)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"curate sql failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def reconcile(warehouse: Path, n: int, planted: Planted) -> dict[str, int]:
    """Rows by outcome and pairs stored, checked against what was planted: the ingest must account for every row."""
    counts = {r["outcome"]: r["n"] for r in curate_sql(warehouse, f"select outcome, count(*) as n from {RAW_ROWS.name} group by 1")}
    counts["pairs"] = curate_sql(warehouse, f"select count(*) as n from {PAIRS.name}")[0]["n"]
    expected = {Outcome.ACCEPTED.value: planted.valid, Outcome.DUPLICATE.value: planted.duplicates,
                Outcome.REJECTED.value: planted.broken, "pairs": planted.valid}
    got = {k: counts.get(k, 0) for k in expected}
    rows = sum(v for k, v in counts.items() if k != "pairs")
    if got != expected or rows != n:
        print(f"  WARNING: does not reconcile: got {counts}, expected {expected} over {n:,} rows", flush=True)
    else:
        print(f"  reconciled: {counts}", flush=True)
    return counts


# --- report ------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _shown(argv: list[str], work: Path) -> str:
    """A command as run, the interpreter and curate relative to the repo and the scratch directory as <work>."""
    import shlex

    parts = [str(Path(a).relative_to(ROOT)) if i == 0 and Path(a).is_relative_to(ROOT) else a for i, a in enumerate(argv)]
    shown = f"{parts[0]} -c {parts[2]}" if parts[1:2] == ["-c"] else shlex.join(parts)  # code shown unquoted, to read
    return shown.replace(str(work), "<work>")


def render(n: int, seed: int, size_mb: float, planted: Planted, baseline_rows: dict[str, int], results: list[Measurement],
           load_before, work: Path) -> str:
    """The Markdown report; also what is printed."""
    baseline = results[0]
    lines = [
        "# Ingest benchmark",
        "",
        *header(load_before),
        f"- input (seed {seed}): N = {n:,} synthetic TRL pairs, JSONL of {size_mb:,.1f} MB; planted {planted.duplicates:,} exact duplicates "
        f"and {planted.broken:,} broken rows ({planted.malformed_json:,} malformed JSON, {planted.empty_chosen:,} empty chosen)",
        f"- targets for each curate run: wall time at most {TARGET_RATIO:.1f}x the raw DuckDB time; peak RSS under {TARGET_RSS_MB:,} MB",
        "",
        "| command | wall s | rows/s | peak RSS MB | ratio vs DuckDB | time target | RSS target |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for m in results:
        ratio = m.seconds / baseline.seconds
        targets = ("baseline", "") if m is baseline else (verdict(ratio <= TARGET_RATIO), verdict(m.peak_rss_mb < TARGET_RSS_MB))
        lines.append(
            f"| {m.name} | {m.seconds:.1f} | {n / m.seconds:,.0f} | {m.peak_rss_mb:,.0f} | {ratio:.2f}x | {targets[0]} | {targets[1]} |"
        )
    lines += [
        "",
        "Each command ran as its own child process (wall time to exit; peak RSS of that child from `wait4`), "
        "with the scratch directory written as `<work>`:",
        "",
        *[f"- {m.name}: `{_shown(m.argv, work)}`" for m in results],
        "",
        f"The baseline wrote {baseline_rows['rows']:,} rows for the {n:,} lines: {baseline_rows['all_null']:,} with every column "
        f"NULL and {baseline_rows['empty_chosen']:,} with an empty chosen (planted: {planted.malformed_json:,} malformed, "
        f"{planted.empty_chosen:,} empty chosen, {planted.duplicates:,} duplicates).",
        "",
        "Reconciliation of each curate run (`raw_rows` by outcome; `pairs` stored), "
        f"expected: accepted {planted.valid:,}, duplicate {planted.duplicates:,}, rejected {planted.broken:,}:",
        "",
    ]
    expected = {Outcome.ACCEPTED.value: planted.valid, Outcome.DUPLICATE.value: planted.duplicates,
                Outcome.REJECTED.value: planted.broken, "pairs": planted.valid}
    for m in results[1:]:
        rows = sum(v for k, v in m.counts.items() if k != "pairs")
        ok = {k: m.counts.get(k, 0) for k in expected} == expected and rows == n
        lines.append(f"- {m.name}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(m.counts.items()))
                     + (f": reconciles ({rows:,} rows)" if ok else f": DOES NOT reconcile ({rows:,} rows of {n:,})"))
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic pairs to generate (default: 1,000,000)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".work", help="scratch space (default: benchmarks/.work)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest.md", help="Markdown report")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--keep", action="store_true", help="keep the generated file, Parquet, warehouses and logs")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not CURATE.exists():
        raise SystemExit(f"{CURATE} not found: run with the project's virtualenv Python")
    # Our own subdirectory: only it is cleared and removed, never the rest of a --workdir given by hand.
    work = args.workdir.resolve() / "ingest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        load_before = os.getloadavg()
        source = work / "pairs.jsonl"
        print(f"generating {args.n:,} pairs into {source} ...", flush=True)
        start = time.perf_counter()
        planted = generate(source, args.n, args.seed)
        size_mb = source.stat().st_size / 1e6
        print(f"  {size_mb:,.1f} MB in {time.perf_counter() - start:.1f} s; planted {planted}", flush=True)

        parquet = work / "baseline.parquet"
        results = [measure("duckdb read_json -> parquet", duckdb_baseline_argv(source, parquet), work / "duckdb.log")]
        baseline_rows = parquet_rows(parquet)
        if not args.keep:
            parquet.unlink()
        for name, extra, wh_name in [("curate ingest", [], "wh-default"),
                                     ("curate ingest --no-detect-language", ["--no-detect-language"], "wh-nolang")]:
            warehouse = work / wh_name
            argv = [str(CURATE), "ingest", str(source), *extra, "--warehouse", str(warehouse)]
            m = measure(name, argv, work / f"{wh_name}.log")
            m.counts = reconcile(warehouse, args.n, planted)
            results.append(m)
            if not args.keep:
                shutil.rmtree(warehouse)  # keep disk use to one warehouse at a time

        text = render(args.n, args.seed, size_mb, planted, baseline_rows, results, load_before, work)
        print("\n" + text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"written to {args.out}")
    finally:
        if args.keep:
            print(f"kept scratch data in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            if args.workdir.exists() and not any(args.workdir.iterdir()):
                args.workdir.rmdir()


if __name__ == "__main__":
    main()
