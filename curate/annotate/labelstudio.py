"""A small client for the Label Studio REST API: projects, task import, export snapshots, users.

Authentication takes either kind of token Label Studio hands out, read from an environment variable:

- a personal access token (a JWT refresh token, the default for new organizations since 1.17): it is
  exchanged at ``/api/token/refresh`` for a short-lived access token sent as ``Authorization: Bearer``,
  refreshed again when the server says it expired;
- a legacy token, sent as ``Authorization: Token`` (the local server ``curate annotate server`` starts
  has legacy tokens turned on through the API).

The token lives in memory only: never in a config, a table, a log line or an error message.
Exports use the export-snapshot API (create, wait, download), which does not time out on large
projects the way the synchronous export does.
"""

from __future__ import annotations

import os
import time

import httpx

from curate.annotate.config import LabelStudioConfig
from curate.errors import ConfigError, CurateError, Transient

_IMPORT_CHUNK = 500  # tasks per import request


class LabelStudioError(CurateError):
    """Label Studio refused a request or answered something curate cannot use."""

    exit_code = 8


class LabelStudioUnreachable(Transient, LabelStudioError):
    """The server did not answer (not started, wrong URL, down); trying again later may work."""


class LabelStudio:
    """One authenticated session with a Label Studio server."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._token = token
        self._bearer = _is_jwt(token)
        self._auth = self._access_header() if self._bearer else f"Token {token}"

    @classmethod
    def connect(cls, cfg: LabelStudioConfig) -> LabelStudio:
        """A client for ``cfg.url`` with the token from ``cfg.token_env``; checks the token works."""
        token = os.environ.get(cfg.token_env, "").strip()
        if not token:
            raise ConfigError(f"no Label Studio token: set {cfg.token_env} (`curate annotate server` prints one for the "
                              "server it starts; elsewhere take a personal access token from Account & Settings)")
        client = cls(cfg.url, token, timeout=cfg.timeout_s)
        client.request("GET", "/api/current-user/whoami")
        return client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LabelStudio:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs) -> object:
        """The JSON body of one API call; an expired access token is refreshed once."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self._bearer:
            self._auth = self._access_header()
            response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise LabelStudioError(f"Label Studio answered {response.status_code} to {method} {path}: {_detail(response)}",
                                   server=self.url)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise LabelStudioError(f"Label Studio sent non-JSON to {method} {path}", server=self.url) from exc

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self._http.request(method, path, headers={"Authorization": self._auth}, **kwargs)
        except httpx.HTTPError as exc:
            raise LabelStudioUnreachable(f"cannot reach Label Studio at {self.url}: {type(exc).__name__} "
                                         "(is it running? `curate annotate server` starts one)", server=self.url) from exc

    def _access_header(self) -> str:
        try:
            response = self._http.post("/api/token/refresh", json={"refresh": self._token})
        except httpx.HTTPError as exc:
            raise LabelStudioUnreachable(f"cannot reach Label Studio at {self.url}: {type(exc).__name__}", server=self.url) from exc
        if response.status_code != 200 or "access" not in response.json():
            raise LabelStudioError(f"Label Studio refused the personal access token ({response.status_code}): "
                                   f"{_detail(response)}", server=self.url)
        return f"Bearer {response.json()['access']}"

    # -- projects and tasks ------------------------------------------------------------------------------
    def project_by_title(self, title: str) -> dict | None:
        """The oldest project with exactly this title, or None."""
        page, found = 1, []
        while True:
            body = self.request("GET", "/api/projects", params={"page": page, "page_size": 100, "title": title})
            found += [p for p in body["results"] if p.get("title") == title]
            if not body.get("next"):
                break
            page += 1
        return min(found, key=lambda p: p["id"]) if found else None

    def ensure_project(self, title: str, label_config: str, *, overlap: int) -> dict:
        """The project titled ``title``, created with ``label_config`` when missing; its overlap is kept at
        ``overlap`` annotators per task (an existing project's labeling interface is left as it is)."""
        settings = {"maximum_annotations": overlap, "overlap_cohort_percentage": 100, "show_skip_button": False,
                    "show_annotation_history": False, "show_collab_predictions": False}
        project = self.project_by_title(title)
        if project is None:
            return self.request("POST", "/api/projects", json={"title": title, "label_config": label_config, **settings})
        if project.get("maximum_annotations") != overlap:
            project = self.request("PATCH", f"/api/projects/{project['id']}", json=settings)
        return project

    def import_tasks(self, project_id: int, tasks: list[dict]) -> list[int]:
        """Create ``tasks`` (their ``data``), in order; the new task ids, in the same order."""
        ids: list[int] = []
        for start in range(0, len(tasks), _IMPORT_CHUNK):
            chunk = tasks[start:start + _IMPORT_CHUNK]
            body = self.request("POST", f"/api/projects/{project_id}/import", params={"return_task_ids": "true"}, json=chunk)
            new = body.get("task_ids") or []
            if len(new) != len(chunk):
                raise LabelStudioError(f"Label Studio created {len(new)} of {len(chunk)} tasks", project=project_id)
            ids += new
        return ids

    def export(self, project_id: int, *, timeout: float = 600.0, poll: float = 1.0) -> list[dict]:
        """Every annotated task of the project with its annotations, through an export snapshot (removed after)."""
        snapshot = self.request("POST", f"/api/projects/{project_id}/exports",
                                json={"title": "curate pull", "task_filter_options": {"only_with_annotations": True}})
        path = f"/api/projects/{project_id}/exports/{snapshot['id']}"
        deadline = time.monotonic() + timeout
        try:
            while snapshot.get("status") != "completed":
                if snapshot.get("status") == "failed":
                    raise LabelStudioError("Label Studio failed to build the export snapshot", project=project_id)
                if time.monotonic() > deadline:
                    raise LabelStudioUnreachable(f"export snapshot not ready after {timeout:.0f}s", project=project_id)
                time.sleep(poll)
                snapshot = self.request("GET", path)
            tasks = self.request("GET", f"{path}/download", params={"exportType": "JSON"})
        finally:
            self._send("DELETE", path)
        if not isinstance(tasks, list):
            raise LabelStudioError("the export snapshot is not a list of tasks", project=project_id)
        return tasks

    def users(self) -> dict[int, str]:
        """User id -> e-mail (or username) of the organization's members: how annotators are named."""
        return {u["id"]: u.get("email") or u.get("username") or str(u["id"]) for u in self.request("GET", "/api/users/")}

    def invite_url(self) -> str:
        """A sign-up link that adds a teammate to this organization."""
        return f"{self.url}{self.request('GET', '/api/invite')['invite_url']}"


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("validation_errors") or body)[:300]
    return str(body)[:300]

