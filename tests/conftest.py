"""Shared fixtures: a real DuckLake warehouse in a temp dir, row writers, the real data file, and the
session's two servers (the embedded llama.cpp judge and a Prefect test API), each started once.

Thread pools are capped at the machine's cores before any test imports torch, onnxruntime or
tokenizers: on a small shared machine their default pools, one per library, oversubscribe the
cores and every test waits on the others' spinning threads.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pytest

from curate.threads import cores  # noqa: E402  (a light module: it imports none of the pooled libraries)

CORES = cores()
"""The cores this process may run on (an affinity mask or a container's CPU set counts, not the host's)."""

# Read by OpenMP (torch's intra-op pool), MKL and OpenBLAS when they load, so set before any test imports them;
# tokenizers' rayon pool is turned off (it would add a pool per process, and warns after a fork). A value the
# caller set wins. Set at conftest import, so the subprocesses tests start inherit it as well.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, str(CORES))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # an idle OpenMP thread sleeps instead of spinning on a shared core
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", str(CORES))  # rayon pools: lingua (language detection), tokenizers

from curate import ingest  # noqa: E402  (after the caps: nothing here loads torch, but keep it that way)
from curate.stage import StageResult  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402


def pytest_configure(config) -> None:
    """Cap torch's pools too if something imported it before this file ran (the env vars come too late then).
    torch is never imported here: ``tests/test_layout.py`` checks that the CLI runs without it."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() > CORES:
        torch.set_num_threads(CORES)


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


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test API (a temporary database and a server subprocess) for every flow test in the session.

    Starting one costs seconds of subprocess start-up and migrations; the flows keep apart by their warehouse
    paths (each test's own tmp_path), and their skip logic reads the warehouse, not Prefect's database."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """A real Label Studio (its own venv, SQLite), started once per session on a free loopback port, with
    legacy tokens on; has ``url`` and ``admin`` (email, password, token). Its token is put in
    ``LABEL_STUDIO_API_KEY`` for the session, as a user would export it."""
    from curate.annotate import server as ls_server

    missing = ls_server.missing_requirements()
    if missing:
        pytest.skip(f"Label Studio unavailable: {missing}")
    admin = ls_server.Admin(email="admin@curate.local", password="curate-test-pass-1", token="0123456789abcdef0123456789abcdef01234567")
    with ls_server.start(tmp_path_factory.mktemp("label-studio"), admin=admin) as server:
        previous = os.environ.get("LABEL_STUDIO_API_KEY")
        os.environ["LABEL_STUDIO_API_KEY"] = admin.token
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("LABEL_STUDIO_API_KEY", None)
            else:
                os.environ["LABEL_STUDIO_API_KEY"] = previous
