"""``curate report NAME``: one self-contained HTML page with the plots and tables of a release.

For people who would rather look than read: the same facts as the dataset card (``curate.publish.facts``)
and the same plots (``curate.publish.plots``), inlined as base64 PNGs, with the CSS in the page and no
script, font or link to anything outside it, so the file can be mailed or opened offline.
"""

from __future__ import annotations

import base64
import html
import string
from datetime import datetime, timezone
from pathlib import Path

import yaml

from curate import assets
from curate.publish import card, plots
from curate.publish.facts import Figure, ReleaseFacts, collect
from curate.warehouse import Warehouse, relations
from schemas import RM_EVALS
from schemas.vocab import Decision

_CAPTIONS = {
    "noise_histogram": "Noise scores (the method the policy read) of the candidates, by the decision taken.",
    "length_bias": "log2(chosen / rejected length) before and after the decisions; right of 0 = chosen is longer.",
    "judge_agreement": "Per judge and template: agreement with the ingested label, and position consistency.",
}


def write(wh: Warehouse, name: str, out: Path, cfg: card.CardConfig | None = None, *,
          facts: ReleaseFacts | None = None) -> Path:
    """Write the report of release ``name`` to ``out`` (an .html file); returns its path. ``facts``: the release's
    facts when the caller has collected them already (for the card or the publish check)."""
    cfg = cfg or card.CardConfig()
    facts = facts or collect(wh, name)
    page = render(facts, cfg, rm_evals=_rm_evals(wh, name), warehouse=str(wh.path))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def render(facts: ReleaseFacts, cfg: card.CardConfig, *, rm_evals: Figure, warehouse: str) -> str:
    """The page as one string."""
    sources = card.source_rows(facts, cfg)
    counts = {d: facts.decision_total(d) for d in Decision}
    sections = [
        f"<h1>Release <code>{_e(facts.name)}</code></h1>",
        f'<p class="subtitle">snapshot {facts.snapshot_id} · parent {_e(facts.parent or "none")} · policy '
        f'<code>{_e(facts.policy_hash)}</code> · license {_e(card.dataset_license(facts, cfg) or "none set")}</p>',
        "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in _NAV) + "</nav>",
        '<div class="cards">' + "".join(_stat(n, label, cls) for n, label, cls in (
            (facts.released_pairs, "released pairs", ""), (counts[Decision.KEEP], "kept", ""),
            (counts[Decision.FLIP], "flipped", Decision.FLIP), (counts[Decision.DROP], "dropped", Decision.DROP),
            (len(facts.sources.rows), "sources", ""), (len(facts.languages.rows), "languages", ""))) + "</div>",
        '<h2 id="plots">Plots</h2><div class="plots">' + "".join(
            _plot(name, png) for name, png in plots.render_all(facts).items()) + "</div>",
        '<h2 id="decisions">Decisions</h2>' + _table(facts.decisions, "no candidate pairs"),
        '<h2 id="splits">Splits</h2><p>By prompt: no prompt appears in two splits.</p>' + _table(facts.splits, "no released pairs"),
        '<h2 id="sources">Sources and licenses</h2>' + _table(card.sources_figure(sources)),
        '<h2 id="labels">Labels</h2>' + _table(facts.labels, "no released pairs") + _table(facts.margins),
        '<h2 id="judges">Judges</h2>' + _table(facts.judges, "No judge verdicts were recorded for these pairs."),
        '<h2 id="humans">Human verification</h2>' + _humans(facts),
        '<h2 id="noise">Noise scores</h2>' + _table(facts.noise, "No noise scores were recorded for these pairs."),
        '<h2 id="length">Length bias</h2>' + _table(facts.length_bias),
        '<h2 id="languages">Languages</h2>' + _table(facts.languages, "no released pairs"),
        '<h2 id="rm">Reward models trained on this release</h2>' + _table(rm_evals, "none yet: run curate train-rm " + facts.name),
        '<h2 id="policy">Policy</h2><pre>' + _e(yaml.safe_dump(facts.policy, sort_keys=False, allow_unicode=True)) + "</pre>",
        '<h2 id="limitations">Known limitations</h2><ul>' + "".join(
            f"<li>{_e(item)}</li>" for item in card.limitations(facts, cfg, sources)) + "</ul>",
    ]
    return string.Template(assets.text("templates/report.html")).substitute(
        title=_e(f"curate release {facts.name}"),
        body="\n".join(sections),
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        warehouse=_e(warehouse),
    )


_NAV = (("plots", "Plots"), ("decisions", "Decisions"), ("splits", "Splits"), ("sources", "Sources"), ("labels", "Labels"),
        ("judges", "Judges"), ("humans", "Humans"), ("noise", "Noise"), ("length", "Length bias"), ("rm", "Reward models"), ("policy", "Policy"),
        ("limitations", "Limitations"))


def _humans(facts: ReleaseFacts) -> str:
    """What people's verdicts did to the release, then, when there are any, their agreement and the audit estimate."""
    return _table(facts.humans, "No person verified these pairs.") + "".join(
        _table(figure) for figure in (facts.human_alpha, facts.human_audit) if figure)


def _rm_evals(wh: Warehouse, name: str) -> Figure:
    columns = ("eval_set", "base_model", "device", "train_pairs", "eval_pairs", "accuracy", "created_at")
    with wh.connect(read_only=True, views=False) as con:
        if RM_EVALS.name not in relations(con):
            return Figure(columns)
        rows = con.execute(f"SELECT {', '.join(columns)} FROM {RM_EVALS.name} WHERE release = ? ORDER BY created_at",
                           [name]).fetchall()
    return Figure(columns, tuple(rows))


def _table(figure: Figure, empty: str = "none") -> str:
    if not figure.rows:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in figure.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in figure.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return f"<td>{'' if value is None else value}</td>"
    if isinstance(value, (int, float)):
        return f'<td class="num">{value:.4g}</td>' if isinstance(value, float) else f'<td class="num">{value}</td>'
    return f"<td>{_e(value)}</td>"


def _plot(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    caption = _CAPTIONS.get(name, name)
    return f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{data}"><figcaption>{_e(caption)}</figcaption></figure>'


def _stat(n: int, label: str, cls: str) -> str:
    return f'<div class="card {cls}"><div class="n">{n}</div><div class="l">{_e(label)}</div></div>'


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
