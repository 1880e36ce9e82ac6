"""Shared fixtures: a real DuckLake warehouse in a temp dir, row writers, the real data file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from curate import ingest
from curate.stage import StageResult
from curate.warehouse import Warehouse

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse.init(tmp_path / "wh")


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real HH-RLHF file not found at {REAL_DATA} (it lives in shared/data beside the repo)")
    return REAL_DATA


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows as JSONL; a ``bytes`` or ``str`` item is written verbatim as one line (for broken rows)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        for row in rows:
            if isinstance(row, bytes):
                line = row
            elif isinstance(row, str):
                line = row.encode()
            else:
                line = json.dumps(row, ensure_ascii=False).encode()
            fh.write(line + b"\n")
    return path


def run_ingest(wh: Warehouse, source: Path | str, **options) -> StageResult:
    return ingest.run(wh, ingest.IngestConfig(source=str(source), **options))


def query(wh: Warehouse, sql: str, params: list | None = None, at: int | None = None) -> list[tuple]:
    with wh.connect(read_only=True, at=at) as con:
        return con.execute(sql, params or []).fetchall()


def trl(prompt="What is 2+2?", chosen="It is 4.", rejected="It is 5.", **extra) -> dict:
    """One TRL-standard row."""
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, **extra}


@pytest.fixture(scope="session")
def llama_server():
    """The embedded llama.cpp judge server (SmolLM2-135M), started once per session; has ``base_url`` and ``model``."""
    from curate.judge import server as judge_server

    missing = judge_server.missing_requirements()
    if missing:
        pytest.skip(f"embedded judge server unavailable: {missing}")
    with judge_server.start() as server:
        yield server
