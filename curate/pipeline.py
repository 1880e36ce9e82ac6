"""A pipeline config: which stages ``curate run`` chains, in order, and each one's section.

```yaml
warehouse: lake                      # relative paths are read from the config file's folder
stages: [ingest, judge, noise, release, outputs]
ingest:
  sources: [{source: "data/*.jsonl"}]
judge: {base_url: http://host:8000/v1, model: M, api_key_env: OPENAI_API_KEY}
release: {name: "prefs-{snapshot}", formats: [trl]}
```

The chain is data: a list of stage names, each a step that knows its own section, so a stage that lands later
(near-duplicates, rubrics) joins by name. What makes a run incremental is decided here, from the warehouse:
a file is ingested again only when it changed since the run that read it, and a release is made only for a
snapshot that has none yet (its name carries the snapshot id). The other stages skip themselves through their
completion markers (same config, same input snapshot), and their caches (judge requests, embeddings) keep a
stage that does run from redoing what it did before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate.config import read_yaml
from curate.errors import ConfigError
from curate.ingest import IngestConfig
from curate.ingest import sources as ingest_sources
from curate.publish.card import CardConfig
from curate.warehouse import Warehouse
from schemas import RAW_ROWS, RUNS

AUGMENT_STEPS = {"augment_causal": "causal", "augment_neutral": "neutral", "augment_adversarial": "adversarial"}
"""The augment steps, each ``curate augment --kind KIND`` with its own section (``kind`` comes from the step's name)."""
STAGES = ("ingest", "judge", "rubrics", "principles", *AUGMENT_STEPS, "noise", "annotate_push", "annotate_pull", "release",
          "outputs")
"""Every step ``curate run`` knows, in the order a pipeline lists them."""
CONFIG_SECTIONS = ("embed", "judge", "rubrics", "principles", *AUGMENT_STEPS, "noise", "annotate_push", "annotate_pull")
"""The sections that are a stage's own config, read where the stage runs (so they ride along unvalidated here)."""


class IngestSection(BaseModel):
    """The files to keep ingesting: each entry an ingest config whose ``source`` may be a glob or a directory."""

    model_config = ConfigDict(extra="forbid")

    sources: list[IngestConfig] = Field(default_factory=list, description="ingest configs, one per source")


class ReleaseSection(BaseModel):
    """The release a run makes when anything changed, and its exports."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("release-{snapshot}", description="release name; {snapshot} is the snapshot it reads, so a run "
                      "with nothing new makes none")
    policy: str | None = Field(None, description="policy YAML (default: the packaged default policy)")
    formats: list[Literal["trl", "openrlhf", "hub"]] = Field(default_factory=lambda: ["trl"], description="export formats")
    out: str = Field("out", description="folder the exports, the staged Hub folder and the report go to")


class OutputsSection(BaseModel):
    """The staged Hub folder (a publish dry run) and the HTML report of each new release."""

    model_config = ConfigDict(extra="forbid")

    repo: str | None = Field(None, description="the dataset repo the card names (default: org/<release>)")
    card: CardConfig = Field(default_factory=CardConfig, description="the dataset card config")


class PipelineConfig(BaseModel):
    """A ``curate run`` config. The judge, rubrics, principles, augment_*, noise, annotate_push and annotate_pull sections are their stages' own configs,
    read by the stage's task from the file (never passed around as values: they name endpoints and secrets' variables)."""

    model_config = ConfigDict(extra="allow")  # the stages' own sections ride along; each is validated where it runs

    warehouse: str = Field(description="the warehouse folder")
    stages: list[Literal[STAGES]] = Field(default_factory=lambda: ["ingest", "judge", "noise", "release", "outputs"],  # type: ignore[valid-type]
                                          description="the steps to run, in order")
    ingest: IngestSection = Field(default_factory=IngestSection, description="what to ingest")
    release: ReleaseSection = Field(default_factory=ReleaseSection, description="the release to make")
    outputs: OutputsSection = Field(default_factory=OutputsSection, description="what to make of a new release")


def load(path: str | Path) -> PipelineConfig:
    """The pipeline at ``path``, with relative paths (warehouse, sources, release outputs) read from its folder."""
    from pydantic import ValidationError

    path = Path(path)
    try:
        cfg = PipelineConfig.model_validate(read_yaml(path, "pipeline config"))
    except ValidationError as exc:
        raise ConfigError(f"invalid pipeline config {path}: {exc}", path=path) from exc
    unknown = set(cfg.model_extra or {}) - set(STAGES) - set(CONFIG_SECTIONS)
    if unknown:
        raise ConfigError(f"unknown sections in {path}: {', '.join(sorted(unknown))}; a pipeline knows {', '.join(STAGES)}", path=path)
    base = path.resolve().parent
    absolute = lambda p: p if "://" in p or os.path.isabs(p) else os.path.normpath(base / p)  # noqa: E731  (hf:// stays as it is)
    sources = [s.model_copy(update={"source": absolute(s.source)}) for s in cfg.ingest.sources]
    return cfg.model_copy(update={
        "warehouse": absolute(cfg.warehouse), "ingest": IngestSection(sources=sources),
        "release": cfg.release.model_copy(update={"out": absolute(cfg.release.out),
                                                  "policy": cfg.release.policy and absolute(cfg.release.policy)})})


def files_to_ingest(wh: Warehouse, section: IngestSection) -> tuple[list[IngestConfig], list[str]]:
    """(one ingest config per file that is new or changed since the run that last read it, the unchanged files).
    A Hub dataset is read again every time: it has no modification time to compare."""
    with wh.connect(read_only=True, views=False) as con:
        read_at = dict(con.execute(f"SELECT r.source_file, max(u.started_at) FROM {RAW_ROWS.name} r "
                                   f"JOIN {RUNS.name} u USING (run_id) GROUP BY 1").fetchall())
    todo, unchanged = [], []
    for cfg in section.sources:
        for source in ingest_sources.resolve(cfg.source, exclude=wh.path.resolve()):
            seen = read_at.get(source.address)
            if seen is not None and "hf://" not in source.address and os.path.getmtime(source.address) < seen.timestamp():
                unchanged.append(source.address)
            else:
                todo.append(cfg.model_copy(update={"source": source.address}))
    return todo, unchanged


def release_name(template: str, snapshot: int | None) -> str:
    try:
        return template.format(snapshot=snapshot if snapshot is not None else 0)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"bad release name template {template!r}: only {{snapshot}} may appear in it") from exc
