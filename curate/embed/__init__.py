"""Embed: one vector per distinct text of every pair, cached forever in ``embeddings``."""

from curate.embed.config import EmbedConfig
from curate.embed.encoders import DEFAULT_MODEL, ModelNotFound
from curate.embed.features import EmbeddingsMissing, PairFeatures, encode, model_id, pair_features
from curate.embed.stage import READS, STAGE, run

__all__ = ["DEFAULT_MODEL", "READS", "STAGE", "EmbedConfig", "EmbeddingsMissing", "ModelNotFound", "PairFeatures",
           "encode", "model_id", "pair_features", "run"]
