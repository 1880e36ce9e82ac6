"""curate: preference-data curation for reward-model training.

Stages are plain functions over a DuckLake warehouse, ``run(wh, cfg) ->
StageResult``; Prefect flows in ``flows/`` only compose them.

For notebooks: ``curate.open("warehouse/lake").sql("select ...")`` gives a Polars DataFrame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from curate.query import Reader

__version__ = "0.1.0"


def open(path: str | Path | None = None) -> Reader:  # noqa: A001 - curate.open is the notebook entry point
    """A read-only handle on the warehouse at ``path`` (else ``$CURATE_WAREHOUSE``, else ``warehouse/lake``):
    ``.sql(query, at=None)`` returns a Polars DataFrame; ``.tables()`` and ``.views()`` list names.
    DuckDB and Polars load on first use, so ``import curate`` stays light."""
    from curate.query import open_reader

    return open_reader(path)
