"""Releases: immutable dataset versions that a policy decides (stage ``release``), and their exports (stage ``export``)."""

from curate.release.config import ExportConfig, ReleaseConfig
from curate.release.policy import Decision, Reason, ReleasePolicy, load_policy
from curate.release.stage import STAGE, run
from curate.release.store import (DiffResult, ReleaseError, ReleaseExists, ReleaseInfo, UnknownRelease, candidates_sql, diff,
                                  get, lookup, rematerialize, rows, rows_sql, stored_rows)

__all__ = ["STAGE", "Decision", "DiffResult", "ExportConfig", "Reason", "ReleaseConfig", "ReleaseError", "ReleaseExists",
           "ReleaseInfo", "ReleasePolicy", "UnknownRelease", "candidates_sql", "diff", "get", "load_policy", "lookup",
           "rematerialize", "rows", "rows_sql", "run", "stored_rows"]
