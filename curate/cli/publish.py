"""``curate card``, ``publish``, ``report`` and ``train-rm``: what a release looks like, where it goes, what it trains.

Heavy libraries (matplotlib, datasets, huggingface_hub, torch) are imported inside the
commands, so every other ``curate`` command starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, err, fails_cleanly, print_table, stats_section
from curate.config import load_section
from curate.warehouse import Warehouse

RM_EVAL_COMPARE = "rm_eval_compare"  # the view of reward models side by side (warehouse/views/rm_eval_compare.sql)

stats_section(RM_EVAL_COMPARE, "reward models by release (held-out pairwise accuracy)")


def _spinner(text: str) -> Progress:
    progress = Progress(SpinnerColumn(), TextColumn(text), TimeElapsedColumn(), console=err, transient=True)
    progress.add_task(text, total=None)
    return progress


def _card_config(config: Path | None, **overrides):
    from curate.publish import card

    return load_section(config, card.SECTION, card.CardConfig, **overrides)


@app.command()
@fails_cleanly
def card(
    name: Annotated[str, typer.Argument(help="Release whose dataset card to write.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for README.md and plots/ [default: dist/NAME-card].")] = None,
    license: Annotated[Optional[str], typer.Option("--license", help="Dataset license (Hub id) [default: the release policy's].")] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the dataset card (README.md with Hub metadata) and its plots for a release."""
    from curate.publish import card as card_stage

    cfg = _card_config(config, license=license)
    wh = Warehouse.open(warehouse)
    out = out or Path("dist") / f"{name}-card"
    with _spinner(f"writing the card of {name}"):
        path = card_stage.write(wh, name, out, cfg)
        metadata = card_stage.load_metadata(path)
    console.print(f"card [bold]{path}[/] (plots in {path.parent / card_stage.PLOTS_DIR}); license "
                  f"{metadata.license or '[red]none set[/]'}, languages {', '.join(metadata.language or []) or 'none'}, "
                  f"{metadata.size_categories[0]}")


@app.command()
@fails_cleanly
def publish(
    name: Annotated[str, typer.Argument(help="Release to publish; the Hub tag gets its name.")],
    repo: Annotated[str, typer.Option("--repo", help="Hub dataset repo, org/name.")],
    dry_run: Annotated[Optional[Path], typer.Option("--dry-run", help="Stage into this new folder, run every check, upload nothing.")] = None,
    acknowledge_pii: Annotated[bool, typer.Option("--acknowledge-pii", help="Publish although the PII scan has hits.")] = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Publish a release to the Hub: one commit with data, card and plots, then a tag. Token from HF_TOKEN."""
    from curate.publish import hub as publish_stage

    cfg = _card_config(config)
    wh = Warehouse.open(warehouse)
    with _spinner(f"staging {name}" + (f" into {dry_run}" if dry_run else f" for {repo}")):
        result = publish_stage.publish(wh, name, repo=repo, dry_run_dir=dry_run, acknowledge_pii=acknowledge_pii, cfg=cfg)
    print_table(["file"], [(f,) for f in result.files], title="files" + (" staged" if dry_run else " uploaded"))
    splits = ", ".join(f"{split} ({len(cols)} columns)" for split, cols in result.splits.items())
    pii = f"{result.pii_hits} PII hits acknowledged" if result.pii_hits else "no PII hits"
    if dry_run:
        console.print(f"dry run: [bold]{dry_run}[/] holds exactly what would be uploaded to {repo}; loads with datasets: "
                      f"{splits}; {pii}")
    else:
        console.print(f"published [bold]{name}[/] to {repo} and tagged it {name}: {result.commit_url}; {pii}")


@app.command()
@fails_cleanly
def report(
    name: Annotated[str, typer.Argument(help="Release to report on.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file to write [default: dist/NAME.html].")] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write one self-contained HTML page with the plots and tables of a release."""
    from curate.publish import report as report_stage

    cfg = _card_config(config)
    wh = Warehouse.open(warehouse)
    with _spinner(f"writing the report of {name}"):
        path = report_stage.write(wh, name, out or Path("dist") / f"{name}.html", cfg)
    console.print(f"report [bold]{path}[/] ({path.stat().st_size // 1024} KiB, no external assets)")


@app.command("train-rm")
@fails_cleanly
def train_rm(
    name: Annotated[str, typer.Argument(help="Release to train on (its train split).")],
    eval_on: Annotated[Optional[str], typer.Option("--eval-on", help="Release whose test split (labels as ingested) is the held-out set [default: NAME].")] = None,
    max_train_pairs: Annotated[Optional[int], typer.Option("--max-train-pairs", help="Train on at most this many pairs [default: all on a GPU, 256 on a CPU].")] = None,
    max_eval_pairs: Annotated[Optional[int], typer.Option("--max-eval-pairs", help="Score at most this many held-out pairs (named in the eval set).")] = None,
    epochs: Annotated[Optional[float], typer.Option("--epochs", help="Training epochs [default: 1].")] = None,
    max_length: Annotated[Optional[int], typer.Option("--max-length", help="Tokens per prompt + response [default: 256].")] = None,
    base_model: Annotated[Optional[str], typer.Option("--base-model", help="Model id or folder [default: the packaged MiniLM].")] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Train a reward model (TRL RewardTrainer) on a release and record its held-out pairwise accuracy in rm_evals."""
    from curate import evaluate

    cfg = load_section(config, evaluate.STAGE, evaluate.TrainRMConfig, release=name, eval_on=eval_on,
                       max_train_pairs=max_train_pairs, max_eval_pairs=max_eval_pairs, epochs=epochs, max_length=max_length,
                       base_model=base_model)
    wh = Warehouse.open(warehouse)
    with _spinner(f"training a reward model on {name}"):
        result = evaluate.run(wh, cfg)
    with wh.connect(read_only=True) as con:
        cursor = con.execute(f"SELECT eval_set, release, device, train_pairs, eval_pairs, accuracy, vs_best, train_seconds "
                             f"FROM {RM_EVAL_COMPARE} WHERE eval_set = ?", [result.details["eval_set"]])
        columns, rows = [d[0] for d in cursor.description], cursor.fetchall()
    console.print(f"train-rm {name}: {result.outcomes['train_pairs']} train pairs, {result.outcomes['eval_pairs']} held-out "
                  f"pairs; run {result.run_id}, snapshot {result.snapshot_id}")
    print_table(columns, rows, title="held-out pairwise accuracy by release (view rm_eval_compare)")
