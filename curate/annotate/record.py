"""Annotations as versioned evidence: what a pull or an import adds, and what it leaves alone.

An annotation is identified by its origin (the server and project, or the imported file) and its id
there. Reading the same annotation again adds nothing; reading it after an annotator edited it adds a
new version (the old one stays), so the record of who said what, when, is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from schemas import ANNOTATIONS
from schemas.vocab import Verdict


@dataclass(frozen=True)
class HumanVerdict:
    """One annotator's verdict on one stored pair, already oriented to its stored label."""

    pair_id: str
    annotator: str
    strength: int  # -3..3: > 0 prefers the stored chosen response, < 0 the stored rejected one, 0 a tie
    origin: str
    annotation_id: str
    reason: str | None = None
    lead_time: float | None = None
    batch_id: str | None = None
    annotated_at: datetime | None = None

    @property
    def verdict(self) -> str:
        return verdict_of(self.strength)

    @property
    def content_hash(self) -> str:
        said = [self.pair_id, self.annotator, self.strength, (self.reason or "").strip()]
        return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:32]


def verdict_of(strength: int) -> str:
    """The verdict a signed strength on the stored label's orientation says."""
    return Verdict.CHOSEN if strength > 0 else Verdict.REJECTED if strength < 0 else Verdict.TIE


def new_versions(con: duckdb.DuckDBPyConnection, verdicts: list[HumanVerdict], *, run_id: str, now: datetime) -> tuple[list[dict], dict[str, int]]:
    """The ``annotations`` rows to append for ``verdicts``, and how many were new, edited or unchanged.

    ``con`` sees the ``annotations`` table as committed. Within one call the last verdict read for an
    annotation wins (an export lists each once)."""
    latest = {
        (origin, annotation_id): (version, content_hash)
        for origin, annotation_id, version, content_hash in con.execute(
            f"SELECT origin, annotation_id, max(version), arg_max(content_hash, version) FROM {ANNOTATIONS.name} "
            "WHERE origin IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL", [sorted({v.origin for v in verdicts})]).fetchall()
    }
    by_key = {(v.origin, v.annotation_id): v for v in verdicts}
    rows, counts = [], {"new": 0, "edited": 0, "unchanged": 0}
    for key, v in by_key.items():
        version, seen_hash = latest.get(key, (0, None))
        if seen_hash == v.content_hash:
            counts["unchanged"] += 1
            continue
        counts["edited" if version else "new"] += 1
        rows.append({"pair_id": v.pair_id, "annotator": v.annotator, "verdict": v.verdict, "strength": v.strength,
                     "reason": v.reason, "lead_time": v.lead_time, "batch_id": v.batch_id, "origin": v.origin,
                     "annotation_id": v.annotation_id, "version": version + 1, "content_hash": v.content_hash,
                     "annotated_at": v.annotated_at, "run_id": run_id, "created_at": now})
    return rows, counts
