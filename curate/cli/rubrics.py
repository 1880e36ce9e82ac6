"""``curate rubrics`` and ``curate principles``: rubrics checked against the labels, principles from feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.panel import Panel

from curate.cli._app import ConfigOpt, RequestBar, WarehouseOpt, app, console, deferred, fails_cleanly, print_table, stats_section, validated
from curate.config import read_section
from curate.warehouse import Warehouse

rubrics_stage = deferred("curate.rubrics")
judge_config = deferred("curate.judge.config")

stats_section("rubric_summary", "rubrics: attempts accepted and rejected by reason per writer, pairs decided, accuracy, tries")
stats_section("principles_summary", "binary principles from feedback: kept and dropped by reason, per kind of feedback")

BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint of the writer (and the rubrics' judge) [default: the embedded server].")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Model name at --base-url.")]
ApiKeyEnvOpt = Annotated[Optional[str], typer.Option("--api-key-env", help="NAME of the environment variable holding the API key.")]


@app.command()
@fails_cleanly
def rubrics(
    warehouse: WarehouseOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="Write rubrics for the first N original, non-tie pairs by pair_id.")] = None,
    max_tries: Annotated[Optional[int], typer.Option("--max-tries", help="Attempts per pair: a rejected rubric is regenerated until then.")] = None,
    regenerate: Annotated[Optional[bool], typer.Option("--regenerate", help="Write new rubrics for pairs already decided.")] = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a rubric per pair from its prompt's labels, keep it only if a judge using it reproduces them.

    --base-url/--model/--api-key-env name the endpoint of both the writer and the judge; a config file can name
    each apart (sections rubrics.generator and rubrics.judge). Exit code 6: a limit stopped the run early."""
    cfg = _config(config, rubrics_stage.STAGE, rubrics_stage.RubricsConfig, ("generator", "judge"),
                  endpoint={"base_url": base_url, "model": model, "api_key_env": api_key_env},
                  limit=limit, max_tries=max_tries, regenerate=regenerate)
    wh = Warehouse.open(warehouse)
    _notice(cfg.generator, cfg.judge)
    with RequestBar("writing and checking rubrics") as advance:
        result = rubrics_stage.run(wh, cfg, progress=advance)
    d = result.details
    console.print(str(result))
    console.print(f"[bold]{d['accepted']}[/] accepted, [bold]{sum(d['rejected'].values())}[/] rejected of {d['pending']} pairs pending "
                  f"({d['pairs'] - d['pending']} already decided, {result.outcomes['unfinished']} left for the next run) "
                  f"in {d['attempts']} attempts")
    rows = [("accepted", "", d["accepted"], "")] + [
        ("rejected", reason, n, d["attempts_rejected"].get(reason, n)) for reason, n in sorted(d["rejected"].items())]
    rows += [("rejected", reason, 0, n) for reason, n in sorted(d["attempts_rejected"].items()) if reason not in d["rejected"]]
    print_table(["status", "reason", "pairs (final)", "attempts"], rows, title=f"rubrics by {d['generator']}, checked by {d['judge']}")
    for name, usage in (("writer", d["generation"]), ("judge", d["checks"])):
        cost = usage["cost_usd"]
        console.print(f"{name}: requests sent {usage['requests_sent']}, cache hits {usage['cache_hits']}, failed {usage['requests_failed']}; "
                      f"tokens {usage['prompt_tokens']:,} in + {usage['completion_tokens']:,} out; "
                      + (f"cost ${cost:.4f}" if cost is not None else "cost unknown (model not in the price table)"))
    if d["stopped_by"]:
        raise judge_config.LimitReached(f"stopped by {d['stopped_by']} before every pair was decided: "
                                        f"{result.outcomes['unfinished']} pair(s) are taken up by the next run", run_id=result.run_id)


@app.command()
@fails_cleanly
def principles(
    warehouse: WarehouseOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="Read the first N feedback texts in (pair_id, source) order.")] = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Extract binary (yes/no) principles from justifications and annotators' reasons; each kept only if its
    evidence is a span of the text and it separates the two responses."""
    cfg = _config(config, rubrics_stage.PRINCIPLES_STAGE, rubrics_stage.PrinciplesConfig, ("generator",),
                  endpoint={"base_url": base_url, "model": model, "api_key_env": api_key_env}, limit=limit)
    wh = Warehouse.open(warehouse)
    _notice(cfg.generator)
    with RequestBar("extracting principles"):
        result = rubrics_stage.run_principles(wh, cfg)
    console.print(str(result))
    rows = [("kept", "", result.outcomes["kept"])] + [("dropped", reason, n) for reason, n in sorted(result.dropped.items())]
    print_table(["status", "reason", "principles"], rows, title=f"principles by {result.details['generator']} "
                f"from {result.details['texts']} feedback texts ({result.outcomes['already_asked']} asked before)")


def _config(path: Path | None, stage: str, model, sections: tuple[str, ...], *, endpoint: dict, **flags):
    """The YAML section with the flags on top; the endpoint flags go into each LLM section. Validated once merged,
    without echoing input values (a base URL may hold credentials)."""
    section = read_section(path, stage)
    section.update({k: v for k, v in flags.items() if v is not None})
    given = {k: v for k, v in endpoint.items() if v is not None}
    for name in sections if given else ():
        section[name] = {**(section.get(name) or {}), **given}
    return validated(model, section, stage)


def _notice(*sections) -> None:
    if not all(s.base_url for s in sections):
        console.print(Panel(rubrics_stage.EMBEDDED_NOTICE, title="plumbing default model", border_style="bold yellow"))


