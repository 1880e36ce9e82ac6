"""Errors that say what failed, on what, and whether trying again can help.

``Transient`` errors (commit conflicts, rate limits) may succeed on retry;
``Terminal`` ones (bad input, bad config) will not. Identifiers go in the
message as ``key=value`` so logs can be grepped.
"""

from __future__ import annotations


class CurateError(Exception):
    """Root of every error curate raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, **ids: object) -> None:
        self.ids = {k: v for k, v in ids.items() if v is not None}
        suffix = " ".join(f"{k}={v}" for k, v in self.ids.items())
        super().__init__(f"{message} ({suffix})" if suffix else message)


class Transient:
    """Mixin: the same call may succeed later."""


class Terminal:
    """Mixin: retrying will not help; fix the input or config."""


class ConfigError(Terminal, CurateError):
    exit_code = 2


class WarehouseError(Terminal, CurateError):
    exit_code = 3


class CommitConflict(Transient, CurateError):
    """Another writer committed first; the transaction can be replayed."""


class SourceError(Terminal, CurateError):
    """A source could not be opened or read at all."""

    exit_code = 4


class UnknownAdapterError(Terminal, CurateError):
    exit_code = 2


class NoValidRows(Terminal, CurateError):
    """Every row of the input was rejected; nothing was ingested."""

    exit_code = 5


class ReadOnlyViolation(Terminal, CurateError):
    exit_code = 2


class StageFailed(CurateError):
    """Raised by flows: a stage run failed; the cause is chained."""
