"""``curate run``: the whole chain as one Prefect flow, over a pipeline config (``curate.pipeline``).

Tasks pass the warehouse path and the config file's path (each stage reads its own section from it), never
data and never a config's values: an endpoint or a secret's variable name stays in the file, out of Prefect's
database. Each stage commits its own DuckLake snapshot. What runs:

- ingest: only the files that are new or changed since the run that read them;
- rubrics, principles and the augment steps (``augment_causal``, ``augment_neutral``, ``augment_adversarial``):
  each skips the pairs it already wrote for, so a run with nothing new sends no request and writes no pair;
- judge, embed and noise: skipped by their completion markers when their input snapshot and config are
  unchanged; when they do run, the judge's request cache and the embedding cache keep them to what is new
  (noise refits its cross-fitted reward models on every pair, and the run says so);
- annotate_push: a batch routed to people, once per new input (pairs, scores, judgments);
- annotate_pull: what annotators finished since the last pull;
- release: one per input snapshot (its name carries the snapshot id), with its exports (``<out>/<name>/export``);
  outputs (the staged Hub folder ``<out>/<name>/hub`` and ``<out>/<name>/report.html``) for a release made by this run.

A second run with nothing new starts no stage and says so.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from curate import annotate, augment, embed, judge, noise, pipeline, release, rubrics
from curate.config import load_section
from curate.release import ReleaseConfig
from curate.release.policy import load_policy
from curate.release.stage import READS as RELEASE_READS
from curate.warehouse import Warehouse
from flows.ingest import ingest_task
from flows.judge import judge_task
from flows.publish import outputs_task
from flows.release import export_task, release_task
from flows.tasks import details, stage_task

embed_task = stage_task(embed.STAGE, embed.run, embed.EmbedConfig, skip_when_done=embed.READS)
noise_task = stage_task(noise.STAGE, noise.run, noise.NoiseConfig, skip_when_done=noise.READS)
push_task = stage_task(annotate.push.STAGE, annotate.push.run, annotate.PushConfig, skip_when_done=annotate.push.READS)
pull_task = stage_task(annotate.pull.STAGE, annotate.pull.run, annotate.PullConfig)
rubrics_task = stage_task(rubrics.STAGE, rubrics.run, rubrics.RubricsConfig)
principles_task = stage_task(rubrics.PRINCIPLES_STAGE, rubrics.run_principles, rubrics.PrinciplesConfig)
augment_tasks = {step: stage_task(augment.STAGE, augment.run, augment.AugmentConfig, name=step, fixed={"kind": kind})
                 for step, kind in pipeline.AUGMENT_STEPS.items()}
section_tasks = {"judge": judge_task, "rubrics": rubrics_task, "principles": principles_task, **augment_tasks,
                 "annotate_push": push_task, "annotate_pull": pull_task}
"""The steps that are one task reading its own section of the pipeline file."""


@flow(name="curate-run")
def pipeline_flow(config_path: str) -> dict:
    """Run the pipeline's stages in order; returns each step's result (``skipped`` where nothing was new)."""
    cfg = pipeline.load(config_path)
    warehouse = cfg.warehouse
    wh = Warehouse.init(warehouse)
    log, steps = get_run_logger(), {}
    for stage in cfg.stages:
        if stage == "ingest":
            todo, unchanged = pipeline.files_to_ingest(wh, cfg.ingest)
            steps["ingest"] = {"files": [{"source": c.source, **ingest_task(warehouse, c.model_dump())} for c in todo],
                               "unchanged": unchanged}
        elif stage in section_tasks:
            steps[stage] = section_tasks[stage](warehouse, config_path)
        elif stage == "noise":
            embed_cfg = load_section(config_path, embed.STAGE, embed.EmbedConfig)
            steps["embed"] = embed_task(warehouse, embed_cfg.model_dump())
            steps["noise"] = noise_task(warehouse, config_path)
        elif stage == "release":
            steps["release"] = _release(wh, cfg)
        elif stage == "outputs" and steps.get("release", {}).get("made"):
            name = steps["release"]["name"]
            out = Path(cfg.release.out)
            steps["outputs"] = outputs_task(warehouse, {"release": name, "folder": str(out / name / "hub"),
                                                        "report": str(out / name / "report.html"),
                                                        "repo": cfg.outputs.repo or f"org/{name}",
                                                        "card": cfg.outputs.card.model_dump()})
    summary = summarize(steps)
    log.info(summary)
    return {"steps": steps, "summary": summary}


def _release(wh: Warehouse, cfg: pipeline.PipelineConfig) -> dict:
    """A release of the current input snapshot, unless that snapshot has one; then its exports."""
    name = pipeline.release_name(cfg.release.name, wh.input_snapshot(RELEASE_READS))
    try:
        release.get(wh, name)
        return {"name": name, "made": False}
    except release.UnknownRelease:
        pass
    policy = load_policy(cfg.release.policy) if cfg.release.policy else load_policy()
    made = release_task(str(wh.path), ReleaseConfig(name=name, policy=policy).model_dump(mode="json"))
    exports = [details(export_task(str(wh.path), {"release": name, "format": fmt, "out_dir": str(Path(cfg.release.out) / name / "export" / fmt),
                                                  "overwrite": True})) for fmt in cfg.release.formats]
    return {"name": name, "made": True, "result": made, "exports": exports}


def summarize(steps: dict) -> str:
    """What the run did, one line per step; a run that did nothing says so."""
    lines, did = [], False
    for name, step in steps.items():
        if name == "ingest":
            files = step["files"]
            did |= bool(files)
            lines.append(f"ingest: {len(files)} new or changed file(s), {len(step['unchanged'])} unchanged"
                         + "".join(f"\n  {Path(r['source']).name}: " + ", ".join(f"{k} {v}" for k, v in r["outcomes"].items()) for r in files))
        elif name == "release":
            did |= step["made"]
            lines.append(f"release: {step['name']} " + ("made" if step["made"] else "exists already (nothing new to release)"))
        elif name == "outputs":
            lines.append(f"outputs: {step['report']}")
        elif step.get("skipped"):
            lines.append(f"{name}: skipped, nothing new since {step['run_id']}")
        else:
            did |= step["rows_written"] > 0
            extra = " (refit on every pair: cross-fitted reward models depend on the whole set)" if name == "noise" else ""
            lines.append(f"{name}: {step['rows_in']} in, {step['rows_written']} written{extra}")
    head = "nothing new: no stage had work to do" if not did else "pipeline run:"
    return "\n".join([head, *lines])
