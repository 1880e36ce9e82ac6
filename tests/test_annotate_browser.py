"""One end-to-end annotation in a real browser: Debian's headless Chromium, driven by Playwright.

A batch is pushed to the session's Label Studio; a teammate signs up through the organization's invite
link, logs in, opens one task, picks "1 is better", writes a reason and submits, as a person would. The
pull then finds that verdict, mapped back through the task's stored sides.

The browser is the Debian package's (``/usr/bin/chromium``); Playwright is told its path and never
downloads one. Without either, the test skips and says how to install it.
"""

from __future__ import annotations

import importlib.util
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate.annotate import LabelStudioConfig, PullConfig, PushConfig, RoutingPolicy, pull, push
from curate.annotate.labelstudio import LabelStudio
from curate.warehouse import Warehouse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TIMEOUT_MS = 60_000  # every wait on the page: Label Studio's editor loads a large bundle on a shared machine


def _browser_missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"Debian's chromium is not installed at {CHROMIUM}: sudo apt-get install chromium (never `playwright install`)"
    if importlib.util.find_spec("playwright") is None:
        return "Python playwright is not installed: .venv/bin/pip install -e '.[dev]' (it drives the system chromium)"
    return None


_MISSING = _browser_missing()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

PAIRS = [
    trl(prompt="How long should I boil an egg for a runny yolk?",
        chosen="About 6 minutes from the moment it goes into boiling water, then straight into cold water.",
        rejected="Eggs are a good source of protein."),
    trl(prompt="What does HTTP status 404 mean?",
        chosen="The server was reached but has nothing at that address: the page was not found.",
        rejected="It means the internet is down."),
    trl(prompt="Name a prime number between 20 and 30.",
        chosen="23 (29 is one too).",
        rejected="25."),
]
CHOICE_LABEL, CHOICE_ALIAS = "1 is better", -2  # what the annotator clicks, and its alias on the -3..3 scale
REASON = "Response 1 answers the question; response 2 does not."


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def _page(browser, failure_shot: Path):
    """A fresh browser session (its own cookies); on a failure inside, what the page showed goes to ``failure_shot``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    except BaseException:
        page.screenshot(path=str(failure_shot))
        raise
    finally:
        context.close()


def _sign_up(page, invite_url: str, email: str, password: str) -> None:
    """A teammate creates an account through the invite link (as they would from `curate annotate server`'s output)."""
    page.goto(invite_url)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Create Account").click()
    page.wait_for_url(lambda url: "/user/signup" not in url)


def _log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/user/login/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/user/login" not in url)


def _saved_annotations(client: LabelStudio, task_id: int, timeout_s: float = 60) -> list[dict]:
    """The task's annotations once Label Studio has stored at least one (the Submit click saves asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        annotations = client.request("GET", f"/api/tasks/{task_id}/annotations")
        if annotations or time.monotonic() > deadline:
            return annotations
        time.sleep(0.5)


def test_annotator_in_a_browser_verdict_comes_back_through_pull(label_studio, browser, tmp_path):
    wh = Warehouse.init(tmp_path / "wh")
    run_ingest(wh, write_jsonl(tmp_path / "pairs.jsonl", PAIRS))
    ls_cfg = LabelStudioConfig(url=label_studio.url, project=f"browser test {uuid.uuid4().hex[:8]}")
    pushed = push.run(wh, PushConfig(label_studio=ls_cfg, routing=RoutingPolicy(limit=3)))
    assert pushed.rows_in == 3
    project_id, batch_id = pushed.details["project_id"], pushed.details["batch_id"]
    pair_id, task_id, left_is_chosen, chosen, rejected = query(
        wh, "SELECT t.pair_id, t.task_id, t.left_is_chosen, p.chosen.content, p.rejected.content "
            "FROM annotation_tasks t JOIN pairs p USING (pair_id) WHERE t.batch_id = ? "
            # a task showing the stored chosen response as response 1 when there is one: there the verdict's sign flips
            "ORDER BY t.left_is_chosen DESC, t.task_id LIMIT 1", [batch_id])[0]

    with LabelStudio(label_studio.url, label_studio.admin.token) as client:
        invite_url = client.invite_url()
        email, password = f"annotator-{uuid.uuid4().hex[:8]}@team.example", "annotator-pass-1"
        with _page(browser, tmp_path / "signup-failure.png") as page:
            _sign_up(page, invite_url, email, password)
        assert email in client.users().values()

        with _page(browser, tmp_path / "failure.png") as page:
            _log_in(page, label_studio.url, email, password)
            page.goto(f"{label_studio.url}/projects/{project_id}/data?task={task_id}")
            choice = page.locator(f'input[type=radio][name="{CHOICE_LABEL}"]')
            choice.wait_for(state="visible")
            # the sides the annotator sees are the ones push drew, and nothing on the task says which was "chosen"
            shown_1 = page.locator(".curate-side").nth(0).locator(".lsf-richtext").inner_text().strip()
            shown_2 = page.locator(".curate-side").nth(1).locator(".lsf-richtext").inner_text().strip()
            assert (shown_1, shown_2) == ((chosen, rejected) if left_is_chosen else (rejected, chosen))
            assert "chosen" not in page.locator(".lsf-main-view, .lsf-main-content").first.inner_text().lower()
            choice.check()
            page.locator("textarea[name=reason]").fill(REASON)
            page.locator("[data-testid=bottombar-submit-button]").click()  # the "Submit" button
            saved = _saved_annotations(client, task_id)
            assert len(saved) == 1, f"the Submit click saved nothing within 60 s (screenshot: {tmp_path / 'failure.png'})"

        # what Label Studio exports for the Choices tag (the export snapshot pull reads): the alias, not the label
        exported = [a for t in client.export(project_id) for a in t["annotations"]]
        choices = [r["value"]["choices"] for a in exported for r in a["result"] if r["from_name"] == "preference"]
        assert choices == [[str(CHOICE_ALIAS)]]

    pulled = pull.run(wh, PullConfig(label_studio=ls_cfg))
    assert pulled.outcomes["new"] == 1 and pulled.rows_written == 1
    strength = -CHOICE_ALIAS if left_is_chosen else CHOICE_ALIAS  # "1 is better" favours whatever shows as response 1
    [(annotator, verdict, got_strength, reason, got_batch, version)] = query(
        wh, "SELECT annotator, verdict, strength, reason, batch_id, version FROM annotations WHERE pair_id = ?", [pair_id])
    assert annotator == email
    assert got_strength == strength
    assert verdict == ("chosen" if left_is_chosen else "rejected")
    assert reason == REASON
    assert (got_batch, version) == (batch_id, 1)

    again = pull.run(wh, PullConfig(label_studio=ls_cfg))  # idempotent: the same annotation adds nothing
    assert again.rows_written == 0 and again.outcomes["unchanged"] == 1
