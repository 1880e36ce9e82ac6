"""Local server processes that curate starts and owns: the embedded judge, Label Studio.

A ``ServerProcess`` is a child process with its output in a temporary log file. It is stopped on leaving
its ``with`` block, on an exception or Ctrl-C alike, and on Linux the child is also told to die with its
parent, so a killed parent leaves no server behind. ``launch`` starts one and returns once a health URL
answers 200, or raises with the log's tail.
"""

from __future__ import annotations

import ctypes
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
from collections.abc import Callable, Sequence
from pathlib import Path

_LOG_TAIL = 2000


class ServerProcess:
    """A running server process; a context manager that stops it on exit."""

    def __init__(self, process: subprocess.Popen, *, host: str, port: int, log_path: Path) -> None:
        self.process, self.host, self.port, self.log_path = process, host, port, log_path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self):
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


def launch(argv: Sequence[str], *, host: str, port: int, health_path: str, what: str, timeout_s: float,
           error: Callable[[str], Exception], env: dict[str, str] | None = None, cwd: Path | None = None) -> ServerProcess:
    """Start ``argv`` and return once ``http://host:port{health_path}`` answers 200.

    ``error(message)`` builds the exception raised, with the server's log, when it exits or stays silent
    past ``timeout_s``. ``env`` is added to this process's environment (secrets go here, never in ``argv``,
    which every user of the machine can read)."""
    fd, log_name = tempfile.mkstemp(prefix=f"curate-{what.replace(' ', '-')}-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        # PDEATHSIG fires when the creating *thread* ends, so only a main-thread start asks for it
        tie = sys.platform == "linux" and threading.current_thread() is threading.main_thread()
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, cwd=cwd, preexec_fn=_die_with_parent if tie else None)
    server = ServerProcess(process, host=host, port=port, log_path=Path(log_name))
    try:
        problem = _wait_healthy(server, f"{server.url}{health_path}", what, timeout_s)
    except BaseException:  # Ctrl-C while waiting: leave nothing running
        server.stop()
        raise
    if problem:
        tail = server.log_tail()
        server.stop()
        raise error(f"{problem}; its log ends with:\n{tail}")
    return server


def serve_until_stopped(server: ServerProcess, on_ready: Callable[[ServerProcess], None] | None = None) -> int:
    """Call ``on_ready`` (print the URL), then serve until Ctrl-C or the server exits; the server is stopped
    either way. Its exit code (0 after Ctrl-C)."""
    with server:
        if on_ready:
            on_ready(server)
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0


def _wait_healthy(server: ServerProcess, url: str, what: str, timeout_s: float) -> str | None:
    """None once the server answers; else why it never will."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            return f"the {what} exited during start with code {code}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return f"the {what} did not answer {url} within {timeout_s:.0f}s"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass
