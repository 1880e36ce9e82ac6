"""``make demo``: the end-to-end flow on the built-in examples, as far as stages exist.

Starts from an empty demo warehouse each time, so the output is the same on
every run. Later stages (judge, noise, release) join the flow as they land.
"""

from __future__ import annotations

import argparse
import shutil
from importlib.resources import files
from pathlib import Path

from flows.ingest import ingest_flow

EXAMPLES = files("curate") / "examples" / "demo"


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
    args = parser.parse_args()
    warehouse = Path(args.warehouse).resolve()
    if warehouse.exists():
        shutil.rmtree(warehouse)
    results = ingest_flow(str(warehouse), demo_sources())
    print()
    for result in results:
        outcomes = ", ".join(f"{k}={v}" for k, v in result["outcomes"].items())
        print(f"ingest {result['run_id']}: {result['rows_in']} rows ({outcomes}) -> snapshot {result['snapshot_id']}")


if __name__ == "__main__":
    main()
