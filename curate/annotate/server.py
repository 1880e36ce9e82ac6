"""A local Label Studio for the team: started on loopback with SQLite, ready for curate's API calls.

Label Studio lives in its own virtual environment (its pinned Django stack clashes with curate's), so
curate runs its ``label-studio`` command, found in this order: ``$CURATE_LABEL_STUDIO``, the
``.venv-label-studio`` that ``make`` builds beside the repository, then ``PATH``.

New organizations have legacy API tokens turned off (since 1.17). For the server it starts, curate turns
them on through the API (a session login, then ``/api/jwt/settings``), so one token in
``LABEL_STUDIO_API_KEY`` serves ``push`` and ``pull``. The admin's password and token go to the child
through its environment, never its command line; curate writes neither anywhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from curate.annotate.labelstudio import LabelStudioError
from curate.errors import ConfigError
from curate.servers import ServerProcess, free_port, launch

BINARY_ENV = "CURATE_LABEL_STUDIO"
VENV = ".venv-label-studio"
INSTALL = f"python3 -m venv {VENV} && {VENV}/bin/pip install label-studio  (or `make install`)"
DEFAULT_ADMIN = "admin@curate.local"


def binary() -> Path | None:
    """The ``label-studio`` command to run, or None when none is installed."""
    named = os.environ.get(BINARY_ENV)
    if named:
        return Path(named)
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = root / VENV / "bin" / "label-studio"
        if candidate.is_file():
            return candidate
    found = shutil.which("label-studio")
    return Path(found) if found else None


def missing_requirements() -> str | None:
    """Why Label Studio cannot start here (with the install hint), or None when it can."""
    path = binary()
    if path is None or not path.is_file():
        return f"Label Studio is not installed: {INSTALL}"
    return None


@dataclass(frozen=True)
class Admin:
    """The server's first user: who logs in, and the API token that push and pull use."""

    email: str
    password: str
    token: str

    @classmethod
    def from_env(cls) -> Admin:
        """From ``LABEL_STUDIO_USERNAME``, ``LABEL_STUDIO_PASSWORD`` and ``LABEL_STUDIO_API_KEY``; a missing
        password or token is generated (and shown once, by the command that starts the server)."""
        return cls(email=os.environ.get("LABEL_STUDIO_USERNAME") or DEFAULT_ADMIN,
                   password=os.environ.get("LABEL_STUDIO_PASSWORD") or secrets.token_urlsafe(12),
                   token=os.environ.get("LABEL_STUDIO_API_KEY") or secrets.token_hex(20))


class LabelStudioServer(ServerProcess):
    """A running Label Studio; a context manager that stops it on exit."""

    def __init__(self, server: ServerProcess, *, admin: Admin, data_dir: Path) -> None:
        super().__init__(server.process, host=server.host, port=server.port, log_path=server.log_path)
        self.admin, self.data_dir = admin, data_dir


def start(data_dir: str | Path, *, admin: Admin, port: int | None = None, host: str = "127.0.0.1",
          startup_timeout_s: float = 240) -> LabelStudioServer:
    """Start Label Studio with its SQLite database under ``data_dir``, wait for ``/health``, and turn on
    legacy tokens so ``admin.token`` works as ``Authorization: Token``."""
    problem = missing_requirements()
    if problem:
        raise ConfigError(problem)
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    env = {"LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "LABEL_STUDIO_USERNAME": admin.email,
           "LABEL_STUDIO_PASSWORD": admin.password, "LABEL_STUDIO_USER_TOKEN": admin.token,
           "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
           "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false"}
    # --internal-host is what it binds (0.0.0.0 unless told); --host is the URL it builds links with
    argv = [str(binary()), "start", "--no-browser", "--internal-host", host, "--host", f"http://{host}:{port}", "--port", str(port),
            "--data-dir", str(data_dir), "--database", str(data_dir / "label_studio.sqlite3")]
    server = launch(argv, host=host, port=port, health_path="/health", what="label studio", timeout_s=startup_timeout_s,
                    env=env, cwd=data_dir, error=lambda message: LabelStudioError(message, port=port))
    running = LabelStudioServer(server, admin=admin, data_dir=data_dir)
    try:
        enable_legacy_tokens(running.url, admin.email, admin.password)
    except BaseException:
        running.stop()
        raise
    return running


def enable_legacy_tokens(url: str, email: str, password: str) -> None:
    """Log in with a session (CSRF cookie, then the login form) and turn legacy API tokens on."""
    with httpx.Client(base_url=url, timeout=60) as session:
        session.get("/user/login/")
        response = session.post("/user/login/", data={"email": email, "password": password,
                                                      "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                                headers={"Referer": f"{url}/user/login/"})
        if response.status_code != 302:
            raise LabelStudioError(f"cannot log in to Label Studio as {email} (status {response.status_code}): "
                                   "is LABEL_STUDIO_PASSWORD the admin's password?", server=url)
        response = session.post("/api/jwt/settings", json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": True},
                                headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": url})
        if response.status_code != 200:
            raise LabelStudioError(f"Label Studio refused to turn on API tokens ({response.status_code})", server=url)
