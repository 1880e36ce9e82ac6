"""The HTML report: one page, every plot inlined, tables of the release, nothing fetched from elsewhere."""

from __future__ import annotations

import base64
import dataclasses
import re
from html.parser import HTMLParser

import pytest
from release_builders import shared_releases
from typer.testing import CliRunner

from curate.publish import report
from curate.publish.card import CardConfig
from curate.cli import app
from curate.publish.facts import Figure, collect


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    return shared_releases(tmp_path_factory)[0]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))


def test_report_is_one_self_contained_page(wh, tmp_path):
    path = report.write(wh, "v1", tmp_path / "v1.html", CardConfig(license="mit"))
    page = path.read_text()
    parser = _Page()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    references = [v or "" for _, a in parser.tags for k, v in a.items() if k in ("src", "href", "srcset", "action", "poster")]
    assert references and all(ref.startswith(("data:", "#")) for ref in references)  # inlined, or an anchor on the page
    assert not re.search(r"https?://", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page))
    assert "@import" not in page and "url(" not in page
    images = [a["src"] for t, a in parser.tags if t == "img"]
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert all(base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG") for src in images)
    ids = {a["id"] for _, a in parser.tags if "id" in a}
    assert {a["href"][1:] for t, a in parser.tags if t == "a"} <= ids  # every link is an anchor on the page
    assert tags.count("table") >= 8
    for text in ("noise_flip", "noise_drop", "127.0.0.1/smollm2-135m", "min_p_wrong_to_flip", "mit", "Known limitations"):
        assert text in page


def test_report_escapes_what_it_shows(wh):
    facts = collect(wh, "v1")
    hostile = dataclasses.replace(facts, name="<script>alert(1)</script>",
                                  decisions=Figure(("decision", "reason", "pairs"), (("keep", "<b>x</b>", 1),)))
    page = report.render(hostile, CardConfig(), rm_evals=Figure(("eval_set",)), warehouse="/tmp/<wh>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_cli_report_writes_the_page(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "bare.html"
    result = CliRunner().invoke(app, ["report", "bare", "--out", str(out), "--warehouse", str(wh.path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "no external assets" in result.output and "no noise scores yet" not in out.read_text()  # the text is in the PNG
    missing = CliRunner().invoke(app, ["report", "nope", "--warehouse", str(wh.path)], catch_exceptions=False)
    assert missing.exit_code == 2 and "no release named 'nope'" in missing.output
