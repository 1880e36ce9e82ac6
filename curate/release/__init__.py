"""Releases: immutable dataset versions that a policy decides, and their exports."""

from curate.release.policy import Decision, Reason, ReleasePolicy, load_policy
from curate.release.stage import (STAGE, DiffResult, ReleaseError, ReleaseExists, ReleaseInfo, UnknownRelease, diff, get,
                                  rematerialize, rows, rows_sql, run, stored_rows)

__all__ = ["STAGE", "Decision", "DiffResult", "Reason", "ReleaseError", "ReleaseExists", "ReleaseInfo", "ReleasePolicy",
           "UnknownRelease", "diff", "get", "load_policy", "rematerialize", "rows", "rows_sql", "run", "stored_rows"]
