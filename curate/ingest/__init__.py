"""Ingest: raw preference rows from files and Hugging Face datasets into canonical pairs."""

from curate.ingest.config import IngestConfig
from curate.ingest.stage import READS, STAGE, run

__all__ = ["READS", "STAGE", "IngestConfig", "run"]
