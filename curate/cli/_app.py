"""Shared pieces of the command line: the app, consoles, the common options, error handling, tables.

Exit codes: 0 ok; 1 unexpected error; 2 bad usage or config (including a
write statement given to the read-only ``curate sql``); 3 warehouse error;
4 source cannot be read; 5 no valid row in the input; 6 a limit (budget,
request cap) stopped the run before all work was done; 7 publishing refused (no
license, unacknowledged PII, a staged folder that does not load); 8 Label Studio
unreachable or refusing a request (``curate annotate``).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Annotated, Optional

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from curate.errors import ConfigError, CurateError
from curate.warehouse import ENV_VAR

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="Curate preference data for reward-model training.")
console = Console()
err = Console(stderr=True)

WarehouseOpt = Annotated[
    Optional[Path],
    typer.Option("--warehouse", "-w", envvar=ENV_VAR, help="Warehouse directory [default: warehouse/lake]."),
]
AtOpt = Annotated[Optional[int], typer.Option("--at", min=0, help="Read the warehouse as of this snapshot version.")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML pipeline config; this command reads its own section.")]

class deferred:
    """A module imported on first use: every command registers at start-up, but `curate sql` should not
    pay for importing the judge, embedder or release code it never runs."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str):
        return getattr(importlib.import_module(self._module), name)


class RequestBar:
    """A Rich bar on stderr fed by an LLM stage's (requests finished, requests planned) callback."""

    def __init__(self, description: str) -> None:
        columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("requests"), TimeElapsedColumn())
        self.bar = Progress(*columns, console=err, transient=True)
        self.task = self.bar.add_task(description, total=None)

    def __enter__(self):
        self.bar.__enter__()
        return lambda done, planned: self.bar.update(self.task, completed=done, total=planned)

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)


def validated(model, section: dict, stage: str):
    """``model`` validated from a config section with the CLI flags merged in; a ConfigError that lists the problems
    without the input values (a base URL may hold credentials)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or stage}: {e['msg']}" for e in exc.errors(include_input=False))
        raise ConfigError(f"invalid {stage} config: {problems}", stage=stage) from None


STATS_SECTIONS: list[tuple[str, str]] = []
"""(view, title) pairs that ``curate stats`` prints, in order; each stage's CLI module adds its own."""


def stats_section(view: str, title: str) -> None:
    """Show ``view`` under ``title`` in ``curate stats``."""
    STATS_SECTIONS.append((view, title))


def fails_cleanly(fn):
    """Print a CurateError, or a DuckDB error no command caught (exit 1), as one readable line and exit
    with its code, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CurateError as exc:
            _fail(str(exc), exc.exit_code)
        except duckdb.Error as exc:
            _fail(str(exc), 1)

    return wrapper


def one_line(message: str) -> str:
    """A multi-line message (DuckDB's, YAML's) on one line; lines that only point with ``^`` are dropped."""
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line and line.strip("^ ") != "")


def _fail(message: str, code: int):
    err.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code) from None


def print_table(columns, rows, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(str(column), overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    if not rows:
        table.add_row(*("—" for _ in columns))
    console.print(table)
