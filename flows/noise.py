"""Noise flow: embed what is missing, then score every pair; tasks pass the warehouse path, configs and run/snapshot ids.

Both stages read only warehouse tables, so a rerun with the same configs and
no new pairs, embeddings or judgments skips them and reports the runs that
already did the work.
"""

from __future__ import annotations

from prefect import flow

from curate import embed, noise
from flows.tasks import stage_task

embed_task = stage_task(embed.STAGE, embed.run, embed.EmbedConfig, skip_when_done=embed.READS,
                        failure=lambda cfg, exc: "embedding failed")
noise_task = stage_task(noise.STAGE, noise.run, noise.NoiseConfig, skip_when_done=noise.READS,
                        failure=lambda cfg, exc: "noise scoring failed")


@flow(name="curate-noise")
def noise_flow(warehouse: str, noise_config: dict | None = None) -> dict:
    """Embed (with the noise config's embedding model), then score; returns both stage results."""
    cfg = noise.NoiseConfig.model_validate(noise_config or {})
    embedded = embed_task(warehouse, cfg.embedding.model_dump())
    scored = noise_task(warehouse, cfg.model_dump())  # after embed: it reads the embeddings embed wrote
    return {"embed": embedded, "noise": scored}
