"""Package data by name: the YAML, text and templates curate ships, read in one place.

Paths are relative to the ``curate`` package (``"assets/prices.yaml"``,
``"templates/card.md"``, ``"policies/default.yaml"``), so prompts, word lists and
prices stay versioned files rather than Python literals.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

import yaml

ROOT: Traversable = files("curate")


def path(name: str) -> Traversable:
    """The packaged file ``name`` (relative to the ``curate`` package)."""
    return ROOT.joinpath(name)


def text(name: str) -> str:
    """The text of the packaged file ``name``."""
    return path(name).read_text(encoding="utf-8")


def load_yaml(name: str):
    """The parsed packaged YAML file ``name`` (None for an empty file)."""
    return yaml.safe_load(text(name))
