"""`curate rubrics`."""

from curate.cli._app import app  # noqa: F401
