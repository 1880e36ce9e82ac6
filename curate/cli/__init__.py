"""The ``curate`` command line: thin wrappers over the library, one ``--warehouse`` everywhere.

Each stage keeps its commands in its own module here; importing them registers
them on the one Typer ``app``. Exit codes are listed in ``_app``.
"""

# Import order is the order of the sections in `curate stats`: the pipeline's order.
from curate.cli import warehouse, ingest, judge, embed, rubrics, augment, noise, annotate, release, publish, explain, run  # noqa: F401, I001  (registers the commands)
from curate.cli._app import app

__all__ = ["app"]
