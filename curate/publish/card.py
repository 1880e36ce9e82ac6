"""The dataset card (``README.md``) of a release: Hub metadata, then what was filtered and why.

The card is rendered from ``curate.publish.facts`` (numbers read from the warehouse at the release
snapshot) into the package template ``templates/card.md``; its YAML header is built with
``huggingface_hub.DatasetCardData`` so the Hub and ``datasets`` read it as they expect
(``configs`` names the Parquet shards of each split). Source licenses come from the
packaged ``assets/sources.yaml`` map, with the ``card.sources`` config tried first; the
dataset license is the release policy's, unless the card config overrides it. Plots are
written next to the card under ``plots/`` and embedded by relative path.
"""

from __future__ import annotations

import fnmatch
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field

from curate import assets
from curate.publish import plots
from curate.publish.facts import Figure, ReleaseFacts, collect
from curate.warehouse import Warehouse
from schemas.vocab import Decision

if TYPE_CHECKING:
    from huggingface_hub import DatasetCardData

SECTION = "card"
"""The YAML config section read by ``curate card``, ``publish`` and ``report``."""

TAGS = ["preference", "rlhf", "reward-modeling", "dpo", "curate"]
TASK_CATEGORIES = ["text-classification", "reinforcement-learning"]
PLOTS_DIR = "plots"
_SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
_EMBEDDED_JUDGES = ("smollm", "embedded", "llama-cpp", "llama_cpp")


class SourceEntry(BaseModel):
    """What is known about a source: matched by shell-style patterns on its name or file."""

    model_config = ConfigDict(extra="forbid")

    match: list[str] = Field(description="patterns matched case-insensitively against the source name and source file")
    license: str | None = Field(None, description="Hub license id of the source (mit, cc-by-4.0, ...)")
    dataset: str | None = Field(None, description="Hub dataset id the source comes from, listed in source_datasets")
    annotations: str | None = Field(None, description="who made its labels: crowdsourced, expert-generated, machine-generated, found")
    note: str | None = Field(None, description="one line shown in the sources table")


class CardConfig(BaseModel):
    """Card settings (section ``card``); everything else on the card comes from the warehouse."""

    model_config = ConfigDict(extra="forbid")

    license: str | None = Field(None, description="dataset license (Hub id); default: the release policy's license")
    pretty_name: str | None = Field(None, description="title of the card; default: the release name")
    repo: str | None = Field(None, description="Hub repo id shown in the loading example; default: the publish target")
    sources: list[SourceEntry] = Field(default_factory=list, description="source entries tried before the packaged map")
    limitations: list[str] = Field(default_factory=list, description="extra known limitations to list")


@dataclass(frozen=True)
class SourceRow:
    """One source of the release with its resolved license and origin."""

    source: str
    pairs: int
    license: str | None
    dataset: str | None
    annotations: str | None
    note: str | None


def write(wh: Warehouse, name: str, out_dir: Path, cfg: CardConfig | None = None, *, facts: ReleaseFacts | None = None) -> Path:
    """Write ``README.md`` and ``plots/*.png`` of release ``name`` into ``out_dir``; returns the card path."""
    cfg = cfg or CardConfig()
    facts = facts or collect(wh, name)
    out_dir = Path(out_dir)
    (out_dir / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    for plot, png in plots.render_all(facts).items():
        (out_dir / PLOTS_DIR / f"{plot}.png").write_bytes(png)
    path = out_dir / "README.md"
    path.write_text(render(facts, cfg), encoding="utf-8")
    return path


def render(facts: ReleaseFacts, cfg: CardConfig) -> str:
    """The card text: YAML metadata between ``---`` lines, then the Markdown body."""
    sources = source_rows(facts, cfg)
    counts = {d: facts.decision_total(d) for d in Decision}
    body = string.Template(assets.text("templates/card.md")).substitute(
        title=cfg.pretty_name or facts.name,
        name=facts.name,
        parent=f"`{facts.parent}`" if facts.parent else "none",
        snapshot_id=facts.snapshot_id,
        policy_hash=facts.policy_hash,
        created_at=facts.created_at.isoformat(timespec="seconds") if facts.created_at else "unknown",
        run_id=facts.run_id or "unknown",
        released_pairs=facts.released_pairs,
        candidate_pairs=sum(counts.values()),
        license=dataset_license(facts, cfg) or "**none set** (publishing is refused until the policy or card config names one)",
        repo=cfg.repo or f"<org>/{facts.name}",
        splits=markdown_table(facts.splits, "no released pairs"),
        sources=markdown_table(sources_figure(sources)),
        policy=yaml.safe_dump(facts.policy, sort_keys=False, allow_unicode=True).strip(),
        decisions=markdown_table(facts.decisions, "no candidate pairs"),
        decision_summary=f"Kept {counts[Decision.KEEP]}, flipped {counts[Decision.FLIP]} and dropped "
                         f"{counts[Decision.DROP]} of {sum(counts.values())} candidate pairs.",
        labels=markdown_table(facts.labels, "no released pairs"),
        margins=markdown_table(facts.margins),
        judges=markdown_table(facts.judges, "No judge verdicts were recorded for these pairs."),
        noise=markdown_table(facts.noise, "No noise scores were recorded for these pairs."),
        reliabilities=markdown_table(facts.reliabilities, "No noise run had estimated reliabilities by then."),
        humans=human_verification(facts),
        noise_method=facts.noise_method,
        length_bias=markdown_table(facts.length_bias),
        languages=markdown_table(facts.languages, "no released pairs"),
        limitations="\n".join(f"- {item}" for item in limitations(facts, cfg, sources)),
    )
    return f"---\n{metadata(facts, cfg, sources).to_yaml()}\n---\n\n{body}"


def metadata(facts: ReleaseFacts, cfg: CardConfig, sources: list[SourceRow] | None = None) -> DatasetCardData:
    """The Hub metadata: license, languages, task categories, tags, sizes, provenance, and the split files."""
    from huggingface_hub import DatasetCardData

    sources = sources if sources is not None else source_rows(facts, cfg)
    languages = sorted({code for code in facts.languages.column("language") if _is_language_code(code)})
    creators = sorted({s.annotations for s in sources if s.annotations and s.pairs} |
                      ({"machine-generated"} if facts.decision_total(Decision.FLIP) else set())) or ["found"]
    datasets = sorted({s.dataset for s in sources if s.dataset and s.pairs})
    configs = [{"config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*"} for split, n, _ in facts.splits.rows if n]}]
    return DatasetCardData(
        license=dataset_license(facts, cfg),
        language=languages or None,
        pretty_name=cfg.pretty_name or facts.name,
        task_categories=TASK_CATEGORIES,
        size_categories=[size_category(facts.released_pairs)],
        annotations_creators=creators,
        source_datasets=datasets or ["original"],
        tags=TAGS,
        configs=configs,
    )


def dataset_license(facts: ReleaseFacts, cfg: CardConfig) -> str | None:
    """The dataset license: the card config's, else the release policy's (``license``), else None."""
    license_ = str(cfg.license or facts.policy.get("license") or "").strip()
    return license_ or None


def source_rows(facts: ReleaseFacts, cfg: CardConfig) -> list[SourceRow]:
    """Each source of the release with what the config and the packaged map know about it."""
    entries = [*cfg.sources, *known_sources()]
    rows = []
    for source, pairs, _kept, _flipped, _dropped, example_file in facts.sources.rows:
        entry = next((e for e in entries if _matches(e, source, example_file)), None)
        rows.append(SourceRow(source=source, pairs=pairs, license=entry and entry.license, dataset=entry and entry.dataset,
                              annotations=entry and entry.annotations, note=entry and entry.note))
    return rows


def limitations(facts: ReleaseFacts, cfg: CardConfig, sources: list[SourceRow] | None = None) -> list[str]:
    """Known limitations: the packaged standing ones, those the evidence calls for, and the config's."""
    text = _limitations_text()
    items = list(text["always"])
    if not facts.judges:
        items.append(text["no_judges"])
    for judge in sorted({str(j) for j in facts.judges.column("judge") if any(m in str(j).lower() for m in _EMBEDDED_JUDGES)}):
        items.append(text["embedded_judge"].format(judge=judge))
    if not facts.noise:
        items.append(text["no_noise"])
    detected = sum(facts.languages.column("detected"))
    if detected:
        items.append(text["detected_language"].format(pairs=detected))
    unknown = [s.source for s in (sources if sources is not None else source_rows(facts, cfg)) if not s.license and s.pairs]
    if unknown:
        items.append(text["unknown_license"].format(sources=", ".join(unknown)))
    return items + list(cfg.limitations)


def human_verification(facts: ReleaseFacts) -> str:
    """The card's human-verification part: what people's verdicts did, how far the annotators agreed (Krippendorff's
    alpha, view ``annotation_alpha``) and what the audit sample measured (view ``annotation_audit``), each line only
    when its figures exist."""
    if not facts.humans:
        return "_No pair of this release was verified by people._"
    parts = [markdown_table(facts.humans)]
    if facts.human_alpha:
        units, annotations, annotators, alpha_verdict, alpha_strength = facts.human_alpha.rows[0]
        parts.append(f"Agreement between annotators (Krippendorff's alpha, over {units} pairs, {annotations} annotations by "
                     f"{annotators} annotators): {_cell(alpha_verdict)} on the verdict, {_cell(alpha_strength)} on the strength.")
    if facts.human_audit:
        row = dict(zip(facts.human_audit.columns, facts.human_audit.rows[0]))
        line = (f"On the audit sample ({row['pairs']} pairs drawn uniformly at random), people found "
                f"{_share(row, 'label_wrong')} of the stated labels wrong")
        if row["judge_pairs"]:
            line += f", and the judges wrong on {_share(row, 'judge_wrong')} of the {row['judge_pairs']} pairs they judged"
        parts.append(line + ".")
    return "\n\n".join(parts)


def _share(row: dict, name: str) -> str:
    """A rate with its interval as the view gives it: ``12.5% (95% interval 7.1%-20.3%)``."""
    rate, low, high = (row.get(f"{name}_rate"), row.get(f"{name}_low"), row.get(f"{name}_high"))
    if rate is None:
        return "an unknown share"
    interval = f" (95% interval {low:.1%}-{high:.1%})" if low is not None and high is not None else ""
    return f"{rate:.1%}{interval}"


def size_category(n: int) -> str:
    """The Hub ``size_categories`` bucket for ``n`` rows."""
    return next((label for bound, label in _SIZES if n < bound), "n>1T")


def markdown_table(figure: Figure, empty: str = "none") -> str:
    """A GitHub-flavoured Markdown table; ``empty`` (in italics) when the figure has no rows."""
    if not figure.rows:
        return f"_{empty}_"
    lines = ["| " + " | ".join(figure.columns) + " |", "|" + "---|" * len(figure.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in figure.rows]
    return "\n".join(lines)


def sources_figure(sources: list[SourceRow]) -> Figure:
    """The sources table shown on the card and in the report."""
    return Figure(("source", "released pairs", "license", "from", "labels by", "note"),
                  tuple((s.source, s.pairs, s.license or "unknown", s.dataset or "", s.annotations or "", s.note or "")
                        for s in sources))


def load_metadata(path: Path) -> DatasetCardData:
    """Parse a written card's metadata the way the Hub does (offline)."""
    from huggingface_hub import DatasetCard

    return DatasetCard.load(Path(path)).data


def _matches(entry: SourceEntry, source: str, source_file: str | None) -> bool:
    values = [v.lower() for v in (source, source_file) if v]
    return any(fnmatch.fnmatchcase(v, p.lower()) for p in entry.match for v in values)


def _is_language_code(code: str | None) -> bool:
    return bool(code) and code != "und" and code.isascii() and code.isalpha() and code.islower() and len(code) in (2, 3)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


@cache
def known_sources() -> tuple[SourceEntry, ...]:
    """The packaged map of known sources (``assets/sources.yaml``), in match order."""
    return tuple(SourceEntry.model_validate(item) for item in assets.load_yaml("assets/sources.yaml"))


@cache
def _limitations_text() -> dict:
    return assets.load_yaml("assets/limitations.yaml")
