"""Pipeline configs as YAML: globals plus one section per stage.

```yaml
warehouse: warehouse/lake
ingest:
  source: data/pairs.jsonl
  include_ties: true
```

Each section is validated by its stage's pydantic model (unknown keys fail),
and the validated config is stored with the run. Secrets never live here:
they come from environment variables named in the config.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import yaml

from curate.errors import ConfigError

if TYPE_CHECKING:  # pydantic is imported by the stage configs that need it, not by every command
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


def read_yaml(path: str | Path, what: str = "config") -> dict:
    """A YAML mapping from a user's file; a missing, unreadable or non-mapping file is a ConfigError."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}", path=path) from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{what} {path} must be a YAML mapping, not {type(document).__name__}", path=path)
    return document


def read_section(path: str | Path | None, stage: str) -> dict:
    """The ``stage`` section of a YAML config as written, not yet validated; empty without a file."""
    if path is None:
        return {}
    section = read_yaml(path).get(stage) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"the {stage} section of {path} must be a YAML mapping, not {type(section).__name__}",
                          path=path, stage=stage)
    return section


def load_section(path: str | Path | None, stage: str, model: type[M], /, **overrides: object) -> M:
    """The ``stage`` section of a YAML config, with explicit overrides (CLI flags) on top."""
    section = read_section(path, stage)
    section.update({k: v for k, v in overrides.items() if v is not None})
    from pydantic import ValidationError

    try:
        return model.model_validate(section)
    except ValidationError as exc:
        raise ConfigError(f"invalid {stage} config: {exc}", stage=stage) from exc


def parse_column_map(text: str | None) -> dict[str, str] | None:
    """``"prompt=question,chosen=answer_a"`` -> ``{"prompt": "question", "chosen": "answer_a"}``."""
    if not text:
        return None
    mapping = {}
    for item in text.split(","):
        target, sep, source = (part.strip() for part in item.partition("="))
        if not sep or not target or not source:
            raise ConfigError(f"bad --map item {item!r}: expected canonical=column, e.g. prompt=question")
        mapping[target] = source
    return mapping
