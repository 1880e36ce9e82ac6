"""Noise flow: embed what is missing, then score every pair; tasks pass the warehouse path, configs and run/snapshot ids."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from curate import embed, noise
from curate.errors import CurateError, StageFailed
from curate.warehouse import Warehouse


@task(name=embed.STAGE, retries=0)
def embed_task(warehouse: str, config: dict) -> dict:
    """Embed every text not yet cached for the model; returns the stage result (run id, snapshot id, counts)."""
    try:
        result = embed.run(Warehouse.open(warehouse), embed.EmbedConfig.model_validate(config))
    except CurateError as exc:
        raise StageFailed("embedding failed", stage=embed.STAGE) from exc
    get_run_logger().info(str(result))
    return result.as_dict()


@task(name=noise.STAGE, retries=0)
def noise_task(warehouse: str, config: dict, embedded: dict) -> dict:
    """Score every pair; ``embedded`` is the embed task's result, which this run's features come after."""
    cfg = noise.NoiseConfig.model_validate(config)
    try:
        result = noise.run(Warehouse.open(warehouse), cfg)
    except CurateError as exc:
        raise StageFailed(f"noise scoring after embed run {embedded.get('run_id')} failed", stage=noise.STAGE) from exc
    get_run_logger().info(str(result))
    return result.as_dict()


@flow(name="curate-noise")
def noise_flow(warehouse: str, noise_config: dict | None = None) -> dict:
    """Embed (with the noise config's embedding model), then score; returns both stage results."""
    cfg = noise.NoiseConfig.model_validate(noise_config or {})
    embedded = embed_task(warehouse, cfg.embedding.model_dump())
    scored = noise_task(warehouse, cfg.model_dump(), embedded)
    return {"embed": embedded, "noise": scored}
