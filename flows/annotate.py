"""Annotation pull flow: collect what annotators finished since the last pull, then re-score the noise.

Annotation takes days, so nothing waits for people: this flow is meant to run on a schedule, and each run
takes what is done so far (a batch moves from pushed to partly done to done in ``annotation_batch_state``).
A pull with nothing new adds no annotation, so the noise task after it is skipped by its completion marker
(``noise`` reads ``annotations`` through its input tables), and a pull that found new verdicts re-scores
every pair with them as anchors. Serve it with a cron schedule::

    python -m flows.annotate --warehouse warehouse/lake --cron "0 * * * *"

The Label Studio token is read from the environment by the pull itself; it is never a flow parameter,
so it never reaches Prefect's database.
"""

from __future__ import annotations

import argparse

from prefect import flow

from curate import annotate, embed, noise
from flows.tasks import stage_task

pull_task = stage_task(annotate.pull.STAGE, annotate.pull.run, annotate.PullConfig,
                       failure=lambda cfg, exc: f"pulling annotations from {cfg.label_studio.server} failed")
embed_task = stage_task(embed.STAGE, embed.run, embed.EmbedConfig, skip_when_done=embed.READS)
noise_task = stage_task(noise.STAGE, noise.run, noise.NoiseConfig, skip_when_done=noise.READS)


@flow(name="curate-annotate-pull")
def annotate_pull_flow(warehouse: str, pull_config: dict | None = None, noise_config: dict | None = None,
                       rescore: bool = True) -> dict:
    """Pull finished annotations; with ``rescore``, embed what is missing and re-score when they changed."""
    pulled = pull_task(warehouse, annotate.PullConfig.model_validate(pull_config or {}).model_dump())
    if not rescore:
        return {"pull": pulled}
    cfg = noise.NoiseConfig.model_validate(noise_config or {})
    embedded = embed_task(warehouse, cfg.embedding.model_dump())
    return {"pull": pulled, "embed": embedded, "noise": noise_task(warehouse, cfg.model_dump())}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the annotation pull flow on a schedule.")
    parser.add_argument("--warehouse", default="warehouse/lake")
    parser.add_argument("--url", default=None, help="Label Studio base URL")
    parser.add_argument("--cron", default="0 * * * *", help="when to pull (default: hourly)")
    args = parser.parse_args()
    pull_config = {"label_studio": {"url": args.url}} if args.url else {}
    annotate_pull_flow.serve(name="annotate-pull", cron=args.cron, pause_on_shutdown=False,
                             parameters={"warehouse": args.warehouse, "pull_config": pull_config})


if __name__ == "__main__":
    main()
