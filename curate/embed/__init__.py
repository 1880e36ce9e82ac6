"""Embed: one vector per distinct text of every pair, cached forever in ``embeddings``."""

from curate.embed.config import EmbedConfig
from curate.embed.stage import (DEFAULT_MODEL, STAGE, EmbeddingsMissing, ModelNotFound, PairFeatures, encode, model_id,
                                pair_features, run)

__all__ = ["DEFAULT_MODEL", "STAGE", "EmbedConfig", "EmbeddingsMissing", "ModelNotFound", "PairFeatures",
           "encode", "model_id", "pair_features", "run"]
