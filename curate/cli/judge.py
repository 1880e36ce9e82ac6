"""``curate judge`` and ``curate judge-server``: pairwise LLM verdicts, both orders, and the embedded judge."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.panel import Panel

from curate.cli._app import ConfigOpt, RequestBar, WarehouseOpt, app, console, deferred, fails_cleanly, print_table, stats_section, validated
from curate.config import read_section
from curate.errors import ConfigError
from curate.warehouse import Warehouse, views_in
from schemas import JUDGMENTS
from schemas.vocab import JudgmentStatus

judge_stage = deferred("curate.judge")
probe_stage = deferred("curate.judge.probe")

stats_section("judge_quality", "judge quality: position consistency, ties, agreement with the labels (accuracy, kappa), length bias")
stats_section("judge_probe_summary", "judge robustness probe (master keys): how often a non-answer wins")
stats_section("judge_cost", "judge cost per judge version: tokens and USD of the verdicts in use ('unknown' for an unpriced remote model)")

_LIMIT_FLAGS = {
    "concurrency": "concurrency",
    "rpm": "requests_per_minute",
    "tpm": "tokens_per_minute",
    "max_requests": "max_requests",
    "max_cost": "max_cost_usd",
}


@app.command()
@fails_cleanly
def judge(
    warehouse: WarehouseOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="Judge the first N pairs by pair_id (probe: N real responses, default 20).")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://host:8000/v1 [default: the embedded server].")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name at --base-url.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--api-key-env", help="NAME of the environment variable holding the API key.")] = None,
    embedded: Annotated[bool, typer.Option("--embedded", help="Use the embedded llama.cpp server even if the config names an endpoint.")] = False,
    attribute: Annotated[Optional[str], typer.Option("--attribute", help="overall, helpfulness, harmlessness or honesty.")] = None,
    template: Annotated[Optional[str], typer.Option("--template", help="Packaged template name or a template file.")] = None,
    rubric: Annotated[Optional[Path], typer.Option("--rubric", help="Rubric or principle text file for the template.")] = None,
    rubrics: Annotated[Optional[bool], typer.Option("--rubrics", help="Judge each pair with its prompt's accepted rubric (curate rubrics); pairs without one are skipped.")] = None,
    samples: Annotated[Optional[int], typer.Option("--samples", help="Samples per order (needs --temperature > 0).")] = None,
    temperature: Annotated[Optional[float], typer.Option("--temperature", help="Sampling temperature.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", help="Completion token cap per request.")] = None,
    output_mode: Annotated[Optional[str], typer.Option("--output-mode", help="auto, json_schema, json_object_schema or none.")] = None,
    rejudge: Annotated[Optional[bool], typer.Option("--rejudge", help="Judge again what this judge version already judged.")] = None,
    max_requests: Annotated[Optional[int], typer.Option("--max-requests", help="Send at most N new requests.")] = None,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Budget in USD for new requests.")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", help="Requests in flight at once.")] = None,
    rpm: Annotated[Optional[float], typer.Option("--rpm", help="Requests per minute.")] = None,
    tpm: Annotated[Optional[float], typer.Option("--tpm", help="Tokens per minute.")] = None,
    probe: Annotated[Optional[str], typer.Option("--probe", help="Run a robustness probe instead: master-keys.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Judge pairs with an LLM in both orders; verdicts go to `judgments`, quality to the judge_* views.

    Exit code 6: a limit (--max-requests, --max-cost) stopped the run early; what was judged is kept."""
    if probe is not None and probe != probe_stage.PROBE:
        raise ConfigError(f"unknown probe {probe!r}: the only probe is {probe_stage.PROBE}")
    flags = {"concurrency": concurrency, "rpm": rpm, "tpm": tpm, "max_requests": max_requests, "max_cost": max_cost}
    cfg = _config(config, embedded=embedded, limits={_LIMIT_FLAGS[k]: v for k, v in flags.items() if v is not None},
                  base_url=base_url, model=model, api_key_env=api_key_env, attribute=attribute, template=template,
                  rubric=str(rubric) if rubric else None, rubrics=rubrics, samples=samples, temperature=temperature, max_tokens=max_tokens,
                  output_mode=output_mode, rejudge=rejudge, limit=limit)
    cfg.judge_template()  # a bad template, attribute or rubric fails before a server starts
    wh = Warehouse.open(warehouse)
    if not cfg.base_url:
        console.print(Panel(judge_stage.EMBEDDED_NOTICE, title="plumbing default judge", border_style="bold yellow"))
    with RequestBar("judging" if probe is None else "probing with master keys") as advance:
        if probe is None:
            result = judge_stage.run(wh, cfg, progress=advance)
        else:
            report = probe_stage.run(wh, cfg, progress=advance)
            result = report.result
    counts = result.details
    if probe is None:
        _print_judge(wh, result, counts)
    else:
        _print_probe(report)
    _print_usage(counts, embedded=not cfg.base_url)
    if counts.get("stopped_by"):
        raise judge_stage.LimitReached(
            f"stopped by {counts['stopped_by']} before all work was sent: {result.outcomes[JudgmentStatus.SKIPPED]} order(s) "
            "not judged; they are judged by the next run", run_id=result.run_id)


@app.command("judge-server")
@fails_cleanly
def judge_server() -> None:
    """Serve the embedded judge (llama.cpp, SmolLM2-135M) on a free loopback port until Ctrl-C."""
    from curate.judge import server as server_module

    def ready(server) -> None:
        console.print(f"embedded judge serving [bold]{server.model}[/] at [bold]{server.base_url}[/] (Ctrl-C stops it)")
        console.print(f"use it: curate judge --base-url {server.base_url} --model {server.model}")
        console.print(f"[yellow]{judge_stage.EMBEDDED_NOTICE}[/]")

    code = server_module.serve_forever(on_ready=ready)
    if code:
        raise typer.Exit(1)


def _config(path: Path | None, *, embedded: bool, limits: dict, **flags) -> judge_stage.JudgeConfig:
    """The YAML section with the flags on top (limit flags merged into ``limits``); ``--embedded`` drops the endpoint.
    The section is read as written and validated once the flags are merged in."""
    section = read_section(path, judge_stage.STAGE)
    section.update({k: v for k, v in flags.items() if v is not None})
    if limits:
        section["limits"] = {**(section.get("limits") or {}), **limits}
    if embedded:
        for key in ("base_url", "model", "api_key_env"):
            section.pop(key, None)
    return validated(judge_stage.JudgeConfig, section, judge_stage.STAGE)




def _print_judge(wh: Warehouse, result, counts: dict) -> None:
    out = counts["outcomes"]
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(counts["verdicts"].items())) or "none"
    console.print(
        f"[bold]{counts['pairs']}[/] pairs selected: [bold]{counts['judgments']}[/] judgments written "
        f"([green]{out[JudgmentStatus.OK]} ok[/], [yellow]{out[JudgmentStatus.UNPARSEABLE]} unparseable[/], "
        f"[red]{out[JudgmentStatus.FAILED]} failed[/]), {counts['already_judged']} order(s) already judged, "
        f"{out[JudgmentStatus.SKIPPED]} stopped by a limit; verdicts: {verdicts}"
    )
    consistency_sql = ("SELECT count(*) FILTER (consistent), count(*) FILTER (both_orders) FROM judge_pair_verdicts "
                       "WHERE judge = ? AND template_hash = ? AND settings_hash = ? "
                       f"AND pair_id IN (SELECT pair_id FROM {JUDGMENTS.name} WHERE run_id = ?)")
    quality_sql = ("SELECT * EXCLUDE (judge, source) FROM judge_quality WHERE judge = $judge "
                   "AND template LIKE '%@' || left($hash, 8) AND settings = left($settings, 8) AND source = '*'")
    with wh.connect(read_only=True, views=views_in(consistency_sql + quality_sql)) as con:
        consistent, both = con.execute(
            consistency_sql, [counts["judge"], counts["template_hash"], counts["settings_hash"], result.run_id]).fetchone()
        relation = con.sql(
            quality_sql, params={"judge": counts["judge"], "hash": counts["template_hash"], "settings": counts["settings_hash"]})
        quality = (relation.columns, relation.fetchall())
    if both:
        console.print(f"position-consistent: [bold]{consistent}[/] of {both} pairs judged in both orders this run "
                      f"({consistent / both:.1%})")
    print_table(*quality, title=f"judge quality so far for {counts['judge']} (all sources; per source: curate stats)")
    console.print(f"snapshot {result.snapshot_id}, run {result.run_id}")


def _print_probe(report: probe_stage.ProbeResult) -> None:
    languages = {k["key"]: k["language"] for k in probe_stage.master_keys()}

    def pct(value) -> str:
        return "—" if value is None else f"{value:.1%}"

    rows = [(repr(r["key"]) if r["key"] != "*" else "all keys", languages.get(r["key"], ""), r["probes"], pct(r["fp_any"]),
             pct(r["fp_both"]), r["not_ok"]) for r in report.rates]
    print_table(["key", "language", "probes", "fp (either order)", "fp (both orders)", "no verdict"], rows,
                title=f"master-keys probe of {report.judge}: how often a non-answer beats a real response")
    overall = report.overall
    console.print(f"false-positive rate: [bold]{pct(overall['fp_any'])}[/] of probes preferred a non-answer in at least one "
                  f"order, {pct(overall['fp_both'])} in both orders ({overall['probes']} probes)")


def _print_usage(counts: dict, *, embedded: bool) -> None:
    cost = counts["cost_usd"]
    console.print(
        f"requests sent {counts['requests_sent']}, cache hits {counts['cache_hits']}, failed {counts['requests_failed']}, "
        f"retries {counts['retries']}; tokens {counts['prompt_tokens']:,} in + {counts['completion_tokens']:,} out; "
        + (f"cost ${cost:.4f}" if cost is not None else
           f"cost unknown: the model is not in the price table ({counts['requests_unpriced']} unpriced request(s); "
           "add it under judge.limits.prices)")
    )
    if embedded:
        console.print("[yellow]judged by the embedded SmolLM2-135M plumbing default: near-random verdicts; "
                      "use --base-url/--model for a real judge[/]")
