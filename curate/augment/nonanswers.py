"""The non-answers of the adversarial augmentation: the packaged master keys (``assets/master_keys.yaml``).

A master key (":", "Thought process:", "Solution", ...) says nothing, yet fools LLM judges (Zhao et al., 2025).
As the rejected response against a real chosen answer it teaches a reward model that an empty opener is no
answer. The keys are read by the judge's probe loader (``curate.judge.probe.master_keys``), the one reader of
that file, so the probe and the augmentation always use the same list.
"""

from __future__ import annotations

from curate.judge.probe import master_keys as _packaged


def master_keys(languages: list[str] | None = None) -> list[str]:
    """The keys in file order; only those whose ``language`` is in ``languages`` (e.g. ``["en", "symbol"]``) when given.
    An unknown language selects nothing (it is not an error: a release may hold languages no key is written in)."""
    wanted = None if languages is None else set(languages)
    return [k["key"] for k in _packaged() if wanted is None or k["language"] in wanted]


def languages() -> list[str]:
    """The languages the packaged keys are written in, in file order (``symbol``: punctuation, any language)."""
    return list(dict.fromkeys(k["language"] for k in _packaged()))
