"""``curate release``, ``diff`` and ``export``: dataset versions decided by a policy, and trainer-ready files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, deferred, err, fails_cleanly, print_table, stats_section
from curate.config import load_section
from curate.errors import ConfigError
from curate.warehouse import Warehouse
from schemas.release import RELEASE_RULES
from schemas.vocab import Decision

release_stage = deferred("curate.release")
export_stage = deferred("curate.release.export")

stats_section("pairs_by_source_language", "pairs by source and language")
stats_section("label_stats", "labels, ties and strengths")
stats_section("length_bias", "length bias: chosen vs rejected length")
stats_section("annotator_agreement", "second labels of the same comparison")
stats_section("release_summary", "releases")
stats_section(RELEASE_RULES, "what each release rule did: pairs, estimated precision, mean score")


def _spinner(text: str) -> Progress:
    progress = Progress(SpinnerColumn(), TextColumn(text), TimeElapsedColumn(), console=err, transient=True)
    progress.add_task(text, total=None)
    return progress


@app.command()
@fails_cleanly
def release(
    name: Annotated[str, typer.Argument(help="Release name; never reused (also the Hub tag).")],
    policy: Annotated[Optional[Path], typer.Option("--policy", "-p", help="Policy YAML [default: curate/policies/default.yaml].")] = None,
    parent: Annotated[Optional[str], typer.Option("--parent", help="The release this one derives from.")] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Materialize an immutable release: keep, flip or drop every pair by the policy, split by prompt."""
    if policy is not None and config is not None:
        raise ConfigError("give the policy either as --policy FILE or as the release section of --config, not both")
    chosen = (load_section(config, release_stage.STAGE, release_stage.ReleasePolicy) if config is not None
              else release_stage.load_policy(policy))
    cfg = release_stage.ReleaseConfig(name=name, parent=parent, policy=chosen)
    wh = Warehouse.open(warehouse)
    with _spinner(f"releasing {name}"):
        result = release_stage.run(wh, cfg)
    counts = result.details
    decisions = counts["decisions"]
    console.print(
        f"release [bold]{name}[/]: {counts['rows']} pairs read at snapshot {counts['snapshot_id']} -> "
        f"[green]{decisions[Decision.KEEP]} keep[/], [yellow]{decisions[Decision.FLIP]} flip[/], "
        f"[red]{decisions[Decision.DROP]} drop[/]; policy {chosen.hash}; committed as snapshot {result.snapshot_id}"
    )
    reasons = sorted(counts["decision_reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
    rules = counts.get("rules", {})
    print_table(["decision", "reason", "pairs", "est. precision"],
                [(*k.split(":", 1), v, rules.get(k, {}).get("est_precision")) for k, v in reasons], title="decisions")
    print_table(["split", "pairs"], list(counts["splits"].items()), title="splits (by prompt)")


@app.command()
@fails_cleanly
def diff(
    a: Annotated[str, typer.Argument(help="The older release.")],
    b: Annotated[str, typer.Argument(help="The newer release.")],
    warehouse: WarehouseOpt = None,
    limit: Annotated[int, typer.Option(help="List at most this many pairs per kind of change.")] = 20,
) -> None:
    """Pairs added, removed and flipped between two releases."""
    result = release_stage.diff(Warehouse.open(warehouse), a, b)
    console.print(f"{a} -> {b}: [green]{len(result.added)} added[/], [red]{len(result.removed)} removed[/], "
                  f"[yellow]{len(result.flipped)} flipped[/]")
    changes = result.changes.to_pylist()
    for kind in ("added", "removed", "flipped"):
        shown = [c for c in changes if c["change"] == kind][:limit]
        if shown:
            print_table(["pair_id", f"{a} decision", f"{a} reason", f"{b} decision", f"{b} reason"],
                        [(c["pair_id"], c["a_decision"], c["a_reason"], c["b_decision"], c["b_reason"]) for c in shown],
                        title=kind)


@app.command()
@fails_cleanly
def export(
    name: Annotated[str, typer.Argument(help="Release to export.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    format: Annotated[str, typer.Option("--format", "-f", help="trl, openrlhf, jsonl or hub (Parquet shards in data/).")] = "trl",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files of an earlier export in --out.")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Write a release as trainer-ready files, one per split (flips swapped, drops left out)."""
    wh = Warehouse.open(warehouse)
    cfg = release_stage.ExportConfig(release=name, format=format, out_dir=str(out), overwrite=overwrite)
    with _spinner(f"exporting {name} as {format}"):
        exported = export_stage.run(wh, cfg).details
    out_dir, files, rows = Path(exported["out_dir"]), exported["files"], exported["rows"]
    counts = ", ".join(f"{k}={v}" for k, v in rows.items())
    console.print(f"export {name} as {format} to {out_dir}: {sum(map(len, files.values()))} files ({counts})")
    print_table(["split", "rows", "files"], [(split, rows[split], "\n".join(str(Path(p).relative_to(out_dir)) for p in paths))
                                             for split, paths in files.items()])
    if format == "openrlhf":
        console.print(f"[dim]openrlhf.cli.train_rm --dataset {out_dir}/train.jsonl --prompt_key prompt "
                      "--chosen_key chosen --rejected_key rejected --apply_chat_template --margin_loss[/]")
