"""``curate augment``: causal, neutral and adversarial pairs made from the stored ones, every candidate accounted for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.cli._app import ConfigOpt, WarehouseOpt, app, console, deferred, err, fails_cleanly, print_table, stats_section, validated
from curate.config import read_section
from curate.warehouse import Warehouse
from schemas.augment import AUGMENTATION_SUMMARY

augment_stage = deferred("curate.augment")
judge_stage = deferred("curate.judge")

stats_section(AUGMENTATION_SUMMARY, "augmentations: candidates and pairs by kind, method, attribute and outcome")


@app.command()
@fails_cleanly
def augment(
    warehouse: WarehouseOpt = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="causal, neutral or adversarial [default: causal].")] = None,
    attribute: Annotated[Optional[list[str]], typer.Option("--attribute", help="Causal: an attribute to degrade; neutral: a style aspect of LLM rewrites (repeatable) [default: all].")] = None,
    mode: Annotated[Optional[list[str]], typer.Option("--mode", help="Neutral: repair, rules or llm (repeatable) [default: all three].")] = None,
    method: Annotated[Optional[str], typer.Option("--method", help="Causal: llm or rules [default: llm].")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="Augment the first N parent pairs by pair_id.")] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Accept LLM-made candidates without the judge's check.")] = False,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint for the rewriter and the check judge [default: the embedded server].")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name at --base-url.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--api-key-env", help="NAME of the environment variable holding the API key.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Make augmented pairs (kind causal, neutral or adversarial, with parent_pair_id) and an `augmentations` row per
    candidate, accepted or rejected with its reason.

    Exit code 6: a limit (max_requests, max_cost_usd) stopped the rewrites or checks early; what was made is kept."""
    cfg = _config(config, endpoint={"base_url": base_url, "model": model, "api_key_env": api_key_env}, kind=kind,
                  attributes=attribute, neutral_modes=mode, method=method, limit=limit, verify=False if no_verify else None)
    wh = Warehouse.open(warehouse)
    if cfg.uses_llm() and not (cfg.generator.base_url and cfg.judge.base_url):
        console.print(Panel(judge_stage.EMBEDDED_NOTICE, title="plumbing default model", border_style="bold yellow"))
    columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("requests"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"augmenting ({cfg.kind})", total=None)
        result = augment_stage.run(wh, cfg, progress=lambda phase, done, planned: bar.update(
            task, description=f"{cfg.kind}: {phase}", completed=done, total=planned))
    console.print(str(result))
    rows = [(r["kind"], r["method"], r["attribute"], r["status"], r["reason"] or "", r["candidates"])
            for r in result.details["by_attribute"]]
    print_table(["kind", "method", "attribute", "status", "reason", "candidates"], rows,
                title=f"this run's candidates ({result.outcomes['already_made']} made by earlier runs skipped)")
    for name, usage in result.details["llm"].items():
        cost = usage["cost_usd"]
        console.print(f"{name}: requests sent {usage['requests_sent']}, cache hits {usage['cache_hits']}, failed "
                      f"{usage['requests_failed']}; tokens {usage['prompt_tokens']:,} in + {usage['completion_tokens']:,} out; "
                      + (f"cost ${cost:.4f}" if cost is not None else "cost unknown (the model is not in the price table)"))
    stopped = {name: u["stopped_by"] for name, u in result.details["llm"].items() if u["stopped_by"]}
    if stopped:
        raise judge_stage.LimitReached(
            "stopped by " + ", ".join(f"{limit} ({name})" for name, limit in stopped.items()) + " before all work was sent: "
            "the candidates left request_failed or not_checked are made by the next run", run_id=result.run_id)


def _config(path: Path | None, *, endpoint: dict, **flags) -> augment_stage.AugmentConfig:
    """The YAML section with the flags on top; the endpoint flags name the rewriter's and the judge's endpoint."""
    section = read_section(path, augment_stage.STAGE)
    section.update({k: v for k, v in flags.items() if v is not None})
    chosen = {k: v for k, v in endpoint.items() if v is not None}
    if chosen:
        for llm in ("generator", "judge"):
            section[llm] = {**(section.get(llm) or {}), **chosen}
    return validated(augment_stage.AugmentConfig, section, augment_stage.STAGE)
