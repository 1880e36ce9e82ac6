"""The README's screenshot of a Label Studio task, as an annotator sees it: remade, not drawn.

    .venv/bin/python benchmarks/screenshot_annotate.py [--out docs/annotate-task.png]

It runs what a team runs: a fresh Label Studio (``curate.annotate.server.start``, in a temporary folder),
one example pair ingested into a temporary warehouse and pushed with ``curate annotate push``'s stage (the
packaged labeling interface, blind, sides drawn as for any batch), a teammate signed up through the invite
link, and that teammate's view of the task in Debian's headless Chromium (Playwright with
``executable_path``; no browser is downloaded), 1400x900. Needs ``.venv-label-studio`` (``make install``)
and ``/usr/bin/chromium``. About a minute, most of it Label Studio starting.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate import ingest  # noqa: E402
from curate.annotate import LabelStudioConfig, PushConfig, RoutingPolicy, push  # noqa: E402
from curate.annotate import server as ls_server  # noqa: E402
from curate.annotate.labelstudio import LabelStudio  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}

# A benign example written for the screenshot: a helpful answer against one that says nothing useful.
EXAMPLE = {
    "prompt": "My sourdough starter smells like nail polish remover. Is it ruined?",
    "chosen": "It is not ruined. A nail-polish (acetone) smell means the starter is hungry: the yeast and bacteria have "
              "eaten their flour and make more acetic acid and ethyl acetate. Feed it more often, every 12 hours at room "
              "temperature, or at a bigger ratio such as 1:5:5 starter, flour and water, for two or three days. Throw "
              "it out only if you see pink or orange streaks or fuzzy mould.",
    "rejected": "Sourdough starters are a mixture of flour and water that has been fermented by wild yeast. Many people "
                "enjoy baking bread with them. If you have concerns about your starter, you may want to consult a "
                "baking expert.",
}
ANNOTATOR = "sam@team.example"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "annotate-task.png")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        sys.exit(f"{CHROMIUM} is missing: sudo apt-get install chromium (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="curate-screenshot-") as work:
        work = Path(work)
        admin = ls_server.Admin(email="admin@curate.local", password=secrets.token_urlsafe(12), token=secrets.token_hex(20))
        started = time.monotonic()
        with ls_server.start(work / "label-studio", admin=admin) as server:
            print(f"Label Studio up at {server.url} after {time.monotonic() - started:.0f}s")
            os.environ["LABEL_STUDIO_API_KEY"] = admin.token  # what `curate annotate server` tells the user to export
            wh = Warehouse.init(work / "wh")
            source = work / "example.jsonl"
            source.write_text(json.dumps(EXAMPLE) + "\n", encoding="utf-8")
            ingest.run(wh, ingest.IngestConfig(source=str(source)))
            pushed = push.run(wh, PushConfig(label_studio=LabelStudioConfig(url=server.url), routing=RoutingPolicy(limit=1)))
            project_id = pushed.details["project_id"]
            with LabelStudio(server.url, admin.token) as client:
                invite_url = client.invite_url()
                [task] = client.request("GET", "/api/tasks", params={"project": project_id})["tasks"]
            password = secrets.token_urlsafe(12)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport=VIEWPORT)
                    page.set_default_timeout(60_000)
                    page.goto(invite_url)  # the teammate signs up through the invite link, and is logged in
                    page.locator("input[name=email]").fill(ANNOTATOR)
                    page.locator("input[name=password]").fill(password)
                    page.get_by_role("button", name="Create Account").click()
                    page.wait_for_url(lambda url: "/user/signup" not in url)
                    page.goto(f"{server.url}/projects/{project_id}/data?task={task['id']}")
                    page.locator("textarea[name=reason]").wait_for(state="visible")
                    page.wait_for_load_state("networkidle")
                    page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover highlight on the task
                    time.sleep(1)  # let the editor's last layout pass settle
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.out))
                finally:
                    browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
