"""The non-embedding checks that ride along in the ``fused`` components: length, near-identical responses, refusals.

They are recorded as evidence beside the scores, never used to decide; the
refusal phrases live in ``assets/refusal_markers.txt`` (its text is part of the
noise config hash, so editing it changes the hash on every score row).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from curate import assets

if TYPE_CHECKING:
    from curate.embed.features import PairFeatures

MARKERS_FILE = "assets/refusal_markers.txt"


def markers_text() -> str:
    """The refusal-marker file as shipped (comments included): what the config hash covers."""
    return assets.text(MARKERS_FILE)


def refusal_markers() -> list[str]:
    """The refusal phrases (lowercase) from the package data file."""
    return [line.strip().lower() for line in markers_text().splitlines() if line.strip() and not line.startswith("#")]


def pair_checks(pairs: dict, feats: PairFeatures, near_identical_cosine: float) -> dict[str, np.ndarray]:
    """Per pair: length difference, near-identical responses (embedding cosine), refusal-marker counts.

    ``pairs`` holds the lengths and marker counts computed in SQL, rows aligned with ``feats``."""
    c, r = feats.chosen, feats.rejected
    cosine = (c * r).sum(axis=1) / (np.linalg.norm(c, axis=1) * np.linalg.norm(r, axis=1) + 1e-12)
    chosen_chars, rejected_chars = np.array(pairs["chosen_chars"], float), np.array(pairs["rejected_chars"], float)
    return {
        "length_diff": chosen_chars - rejected_chars,
        "log_length_ratio": np.log1p(chosen_chars) - np.log1p(rejected_chars),
        "response_cosine": cosine,
        "near_identical": cosine >= near_identical_cosine,
        "chosen_refusals": np.array(pairs["chosen_refusals"], float),
        "rejected_refusals": np.array(pairs["rejected_refusals"], float),
    }
