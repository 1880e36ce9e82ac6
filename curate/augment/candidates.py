"""One augmentation candidate: what made it from which parent, its texts, its check, and the rows it becomes.

Every candidate becomes one ``augmentations`` row, accepted or rejected (a rejected one keeps its text and
its reason); an accepted one also becomes a ``pairs`` row. Ids are ingest's (``curate.ids``): the prompt id of
the normalized messages and the order-free pair id of the two responses' content hashes, so an augmented pair
that equals a stored comparison collides with it and is rejected as a duplicate.

``augmentation_id`` hashes the parent, kind, method, attribute, side and ``maker`` (generator identity with its
template and settings, or the rule set's version): the same candidate asked for again has the same id, which
is how a re-run knows it was already made, and a new generator or template version makes new candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from curate import ids
from schemas.augment import AUGMENT_SOURCE
from schemas.vocab import AugmentReason, AugmentStatus, PairKind

_SEP = "\x1f"


def seeded(seed: int, *parts: str) -> int:
    """A deterministic integer from the run's seed and ``parts``: every seeded choice (keys, donors, rule variants)."""
    return int(ids.digest(_SEP.join((str(seed), *parts))), 16)


@dataclass(frozen=True)
class Parent:
    """An original, non-tie pair that candidates are made from."""

    pair_id: str
    prompt_id: str
    prompt: list[dict]
    chosen: str
    rejected: str
    language: str
    language_detected: bool | None


@dataclass
class Candidate:
    """A planned or made candidate. ``chosen``/``rejected`` are None until the text exists (a failed rewrite
    never gets one); ``text`` is what the augmentation made (rewrite, degraded response, non-answer)."""

    parent: Parent
    kind: PairKind
    method: str
    attribute: str
    maker: str
    side: str | None = None
    prompt: list[dict] | None = None  # default: the parent's
    donor_pair_id: str | None = None
    generator: str | None = None
    template_hash: str | None = None
    request_hash: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    text: str | None = None
    reason: AugmentReason | None = None
    similarity: float | None = None
    verdict_chosen_as_a: str | None = None
    verdict_chosen_as_b: str | None = None
    judge: str | None = None

    @property
    def augmentation_id(self) -> str:
        return ids.digest(_SEP.join((self.parent.pair_id, self.kind, self.method, self.attribute, self.side or "",
                                     self.maker)))

    @property
    def tie(self) -> bool:
        return self.kind == PairKind.NEUTRAL

    @property
    def messages(self) -> list[dict]:
        return self.prompt if self.prompt is not None else self.parent.prompt

    @property
    def prompt_id(self) -> str:
        return ids.prompt_id((m["role"], m["content"]) for m in self.messages)

    @property
    def pair_id(self) -> str | None:
        if self.chosen is None or self.rejected is None:
            return None
        return ids.pair_id(self.prompt_id, ids.content_hash(self.chosen), ids.content_hash(self.rejected))

    @property
    def accepted(self) -> bool:
        return self.reason is None and self.pair_id is not None

    def made(self, chosen: str, rejected: str, text: str) -> None:
        """The candidate's texts exist; one that equals its original (same content hash) is ``unchanged``."""
        self.chosen, self.rejected, self.text = chosen, rejected, text
        if ids.content_hash(chosen) == ids.content_hash(rejected):
            self.reject(AugmentReason.UNCHANGED)

    def reject(self, reason: AugmentReason) -> None:
        """The first reason found stays: later checks never overwrite why a candidate failed."""
        if self.reason is None:
            self.reason = reason

    def pair_row(self, *, run_id: str, now: datetime) -> dict:
        """The ``pairs`` row of an accepted candidate, built as ingest builds one, with augmentation lineage."""
        meta = {"augmentation_id": self.augmentation_id, "method": self.method, "attribute": self.attribute,
                "generator": self.generator, "side": self.side, "donor_pair_id": self.donor_pair_id}
        return {
            "pair_id": self.pair_id,
            "prompt_id": self.prompt_id,
            "prompt": [{"role": m["role"], "content": m["content"]} for m in self.messages],
            "chosen": {"role": "assistant", "content": self.chosen},
            "rejected": {"role": "assistant", "content": self.rejected},
            "chosen_hash": ids.content_hash(self.chosen),
            "rejected_hash": ids.content_hash(self.rejected),
            "tie": self.tie,
            "strength": 0 if self.tie else None,
            "chosen_ratings": None,
            "rejected_ratings": None,
            "justification": None,
            "language": self.parent.language,
            "language_detected": self.parent.language_detected,
            "source": AUGMENT_SOURCE,
            "source_file": f"augment:{self.kind}:{self.method}",
            "source_row": None,
            "annotator": None,
            "meta": orjson.dumps({k: v for k, v in meta.items() if v is not None}).decode(),
            "kind": self.kind.value,
            "parent_pair_id": self.parent.pair_id,
            "run_id": run_id,
            "ingested_at": now,
        }

    def augmentation_row(self, *, run_id: str, now: datetime) -> dict:
        return {
            "augmentation_id": self.augmentation_id,
            "pair_id": self.pair_id,
            "parent_pair_id": self.parent.pair_id,
            "donor_pair_id": self.donor_pair_id,
            "kind": self.kind.value,
            "method": self.method,
            "attribute": self.attribute,
            "side": self.side,
            "tie": self.tie,
            "status": (AugmentStatus.ACCEPTED if self.accepted else AugmentStatus.REJECTED).value,
            "reason": self.reason.value if self.reason else None,
            "similarity": self.similarity,
            "verdict_chosen_as_a": self.verdict_chosen_as_a,
            "verdict_chosen_as_b": self.verdict_chosen_as_b,
            "generator": self.generator,
            "template_hash": self.template_hash,
            "request_hash": self.request_hash,
            "judge": self.judge,
            "candidate": self.text,
            "run_id": run_id,
            "created_at": now,
        }
