"""``curate annotate``: a local Label Studio, batches of pairs pushed to it, verdicts pulled back.

    curate annotate server              # terminal 1: Label Studio on loopback, until Ctrl-C
    curate annotate push --limit 10     # route 10 pairs and create their tasks
    curate annotate pull                # collect what annotators finished (run it on a schedule)
    curate annotate status              # where each batch stands

Nothing here waits for people: push returns once the tasks exist, pull takes what is done so far.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, deferred, fails_cleanly, print_table, stats_section
from curate.config import load_section
from curate.warehouse import Warehouse

annotate_stage = deferred("curate.annotate")

annotate = typer.Typer(no_args_is_help=True, help="Human verdicts: a local Label Studio, push batches of pairs, pull verdicts back.")
app.add_typer(annotate, name="annotate")

stats_section("annotation_batch_state", "annotation batches: tasks pushed, started and done")
stats_section("annotation_alpha", "annotator agreement: Krippendorff's alpha per batch and source")
stats_section("annotation_audit", "audit sample: how often the labels and the judge are wrong, with 95% intervals")
stats_section("annotator_quality", "annotators: agreement with the others and estimated accuracy")

UrlOpt = Annotated[Optional[str], typer.Option("--url", help="Label Studio base URL [default: http://127.0.0.1:8080].")]


@annotate.command("server")
@fails_cleanly
def server(
    warehouse: WarehouseOpt = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Loopback port to serve on.")] = 8080,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Label Studio's data (SQLite, uploads) [default: <warehouse>/label-studio].")] = None,
) -> None:
    """Start Label Studio on loopback (SQLite) and serve until Ctrl-C.

    The admin is LABEL_STUDIO_USERNAME (default admin@curate.local) with LABEL_STUDIO_PASSWORD and the API
    token LABEL_STUDIO_API_KEY; whichever is unset is generated and shown once here, never stored by curate."""
    from curate.annotate import server as ls_server
    from curate.annotate.labelstudio import LabelStudio
    from curate.servers import serve_until_stopped

    folder = data_dir or Warehouse.resolve(warehouse) / "label-studio"
    admin = ls_server.Admin.from_env()
    console.print(f"starting Label Studio (data in {folder}); the first start takes about a minute ...")
    running = ls_server.start(folder, admin=admin, port=port)

    def ready(_) -> None:
        with LabelStudio(running.url, admin.token) as client:
            invite = client.invite_url()
        console.print(f"Label Studio is up at [bold]{running.url}[/] (Ctrl-C stops it)")
        console.print(f"log in as [bold]{admin.email}[/]" + ("" if _given("LABEL_STUDIO_PASSWORD") else
                      f" with the password [bold]{admin.password}[/] (generated: set LABEL_STUDIO_PASSWORD to choose one)"))
        if not _given("LABEL_STUDIO_API_KEY"):
            console.print(f"in the shell you push and pull from: [bold]export LABEL_STUDIO_API_KEY={admin.token}[/]")
        console.print(f"teammates sign up with: {invite}")
        console.print(f"then: curate annotate push --limit 10 --url {running.url}")

    raise typer.Exit(serve_until_stopped(running, ready))


@annotate.command("push")
@fails_cleanly
def push(
    warehouse: WarehouseOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="Most pairs in the batch [default: 50].")] = None,
    overlap: Annotated[Optional[int], typer.Option("--overlap", min=1, help="Annotators wanted per task [default: 1].")] = None,
    audit_share: Annotated[Optional[float], typer.Option("--audit-share", min=0, max=1, help="Share drawn at random (the audit sample) [default: 0.2].")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Route only pairs of this source (repeatable).")] = None,
    reroute: Annotated[bool, typer.Option("--reroute", help="Allow pairs an earlier batch already sent.")] = False,
    show_suggestions: Annotated[bool, typer.Option("--show-suggestions", help="Show the judge's verdict and P(wrong) on each task (default: blind).")] = False,
    url: UrlOpt = None,
    project: Annotated[Optional[str], typer.Option("--project", help="Project title [default: curate preferences].")] = None,
    config: ConfigOpt = None,
) -> None:
    """Route a batch of pairs to annotators and create their Label Studio tasks (sides randomized, blind)."""
    cfg = load_section(config, annotate_stage.push.STAGE, annotate_stage.PushConfig)
    routing = cfg.routing.model_copy(update=_given_values(limit=limit, audit_share=audit_share, sources=source,
                                                          reroute=reroute or None))
    server_cfg = cfg.label_studio.model_copy(update=_given_values(url=url, project=project))
    cfg = cfg.model_copy(update={"routing": routing, "label_studio": server_cfg,
                                 **_given_values(overlap=overlap, show_suggestions=show_suggestions or None)})
    cfg = annotate_stage.PushConfig.model_validate(cfg.model_dump())
    result = annotate_stage.push.run(Warehouse.open(warehouse), cfg)
    if not result.rows_in:
        console.print("nothing to route: every eligible pair was already sent (--reroute sends them again)")
        return
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items()))
    console.print(f"pushed [bold]{result.rows_in}[/] pairs ({reasons}) as batch {result.details['batch_id']}")
    console.print(f"annotate at [bold]{result.details['url']}[/]; collect with `curate annotate pull`")


@annotate.command("pull")
@fails_cleanly
def pull(warehouse: WarehouseOpt = None, url: UrlOpt = None, config: ConfigOpt = None) -> None:
    """Collect finished annotations (new ones and edits) from every batch pushed to the server."""
    cfg = load_section(config, annotate_stage.pull.STAGE, annotate_stage.PullConfig)
    cfg = cfg.model_copy(update={"label_studio": cfg.label_studio.model_copy(update=_given_values(url=url))})
    wh = Warehouse.open(warehouse)
    result = annotate_stage.pull.run(wh, cfg)
    out = result.outcomes
    skipped = ", ".join(f"{k} {v}" for k, v in result.dropped.items())
    console.print(f"pulled {result.rows_in} annotations: [bold]{out.get('new', 0)}[/] new, {out.get('edited', 0)} edited "
                  f"(new versions), {out.get('unchanged', 0)} unchanged" + (f"; left out: {skipped}" if skipped else ""))
    _print_view(wh, "annotation_batch_state", "batches")


@annotate.command("import")
@fails_cleanly
def import_(
    path: Annotated[Path, typer.Argument(help="A Label Studio JSON export or an Argilla 2.x export.")],
    warehouse: WarehouseOpt = None,
    format: Annotated[str, typer.Option("--format", help="auto, label-studio or argilla.")] = "auto",
    annotator: Annotated[Optional[str], typer.Option("--annotator", help="Name for records that carry none.")] = None,
) -> None:
    """Bring verdicts annotated elsewhere in as annotations (ingest the same file first for its pairs)."""
    cfg = load_section(None, annotate_stage.imports.STAGE, annotate_stage.ImportConfig, path=path, format=format, annotator=annotator)
    result = annotate_stage.imports.run(Warehouse.open(warehouse), cfg)
    console.print(str(result))
    for hint in ("hint", "annotator_hint"):
        if result.details.get(hint):
            console.print(result.details[hint])


@annotate.command("status")
@fails_cleanly
def status(warehouse: WarehouseOpt = None) -> None:
    """Where each batch stands, and how far the annotators agree."""
    wh = Warehouse.open(warehouse, read_only=True)
    _print_view(wh, "annotation_batch_state", "batches")
    _print_view(wh, "annotation_alpha", "agreement (Krippendorff's alpha)")


def _print_view(wh: Warehouse, view: str, title: str) -> None:
    with wh.connect(read_only=True, views=[view]) as con:  # that view and what it reads, not every view
        relation = con.sql(f"SELECT * FROM {view}")
        print_table(relation.columns, relation.fetchall(), title=title)


def _given(name: str) -> bool:
    return bool(os.environ.get(name))


def _given_values(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}
