"""Format adapters: from one source record to canonical candidate pairs.

An adapter is a pure function from a raw record to a list of
:class:`Candidate` pairs; it raises :class:`Reject` with a reason code when
the record cannot make one. Each format is one module here, registered by
name when imported; detection tries them in registration order, which is the
import order below: the most specific layouts first, the generic TRL layout last.

Grouped adapters (HelpSteer2, one response per row) turn each row into a
:class:`Response`; consecutive rows with the same prompt are then paired by
the same rule as UltraFeedback completions (:func:`pair_by_score`).
"""

# Registration order is detection order: keep the generic layouts last.
from curate.ingest.adapters import openai, label_studio, argilla, helpsteer2, ultrafeedback, hh, trl  # noqa: F401, I001  (registers the formats)
from curate.ingest.adapters.fields import Candidate, Options, Reject, Response, pair_by_score, score_pairs
from curate.ingest.adapters.registry import ADAPTERS, Adapter, apply_column_map, detect_adapter, get_adapter, register_adapter

__all__ = ["ADAPTERS", "Adapter", "Candidate", "Options", "Reject", "Response", "apply_column_map", "detect_adapter",
           "get_adapter", "pair_by_score", "register_adapter", "score_pairs"]
