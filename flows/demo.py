"""``make demo``: the whole pipeline on the built-in examples, each stage as a Prefect flow.

Starts from an empty demo warehouse each time, so the output is the same on
every run: ingest the examples, judge a small sample with the embedded judge
(SmolLM2-135M: a plumbing default, near-random as a judge), embed and score
label noise, materialize a release with the default policy, export it for TRL,
stage the Hub folder with its dataset card (a publish dry run, checked to load
with ``datasets``), and write the HTML report.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from curate import assets
from flows.ingest import ingest_flow
from flows.judge import judge_sample
from flows.noise import noise_flow
from flows.publish import release_outputs_flow
from flows.release import release_flow

EXAMPLES = assets.path("examples/demo")
RELEASE = "demo-v1"
JUDGED_PAIRS = 6


def demo_sources() -> list[dict]:
    """Every example file; the CSV has its own column names, so it comes with a --map."""
    return [
        {"source": str(EXAMPLES / "*.jsonl")},
        {
            "source": str(EXAMPLES / "survey.csv"),
            "column_map": {"prompt": "question", "chosen": "better_answer", "rejected": "worse_answer", "annotator": "rater"},
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", default="warehouse/demo")
    parser.add_argument("--out", default="warehouse/demo-out", help="where the export, staged Hub folder and report go")
    args = parser.parse_args()
    warehouse, out = Path(args.warehouse).resolve(), Path(args.out).resolve()
    for path in (warehouse, out):
        if path.exists():
            shutil.rmtree(path)
    warehouse_str = str(warehouse)

    lines = []
    for result in ingest_flow(warehouse_str, demo_sources()):
        outcomes = ", ".join(f"{k}={v}" for k, v in result["outcomes"].items())
        lines.append(f"ingest  {result['rows_in']} rows ({outcomes}) -> snapshot {result['snapshot_id']}")
    judged = judge_sample(warehouse_str, pairs=JUDGED_PAIRS)
    lines.append(f"judge   {judged['rows_written']} judgments of {JUDGED_PAIRS} pairs (embedded SmolLM2-135M) -> snapshot {judged['snapshot_id']}")
    for result in noise_flow(warehouse_str).values():
        lines.append(f"{result['stage']:<7} {result['rows_written']} rows written -> snapshot {result['snapshot_id']}")
    released = release_flow(warehouse_str, RELEASE, str(out / "export"), formats=["trl"])
    lines.append(f"release {RELEASE}: {released['release']['outcomes']} -> snapshot {released['release']['snapshot_id']}")
    lines += [f"export  {e['format']}: {e['rows']} rows in {e['out_dir']}" for e in released["exports"]]
    outputs = release_outputs_flow(warehouse_str, RELEASE, str(out), card={"license": "apache-2.0"})
    lines.append(f"staged  {len(outputs['staged']['files'])} files in {outputs['staged']['folder']} (loads with datasets)")
    lines.append(f"report  {outputs['report']}")

    print()
    print("\n".join(lines))
    print()
    print("The judge above is SmolLM2-135M, a plumbing default that is near-random as a judge. For real verdicts:")
    print("  curate judge --base-url http://HOST:8000/v1 --model MODEL --api-key-env OPENAI_API_KEY")


if __name__ == "__main__":
    main()
