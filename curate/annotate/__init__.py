"""Annotate: route uncertain pairs to people in Label Studio and bring their verdicts back as evidence.

Three stages, each one ``run(wh, cfg)``: ``push`` routes a batch and creates its tasks, ``pull`` collects
finished annotations (idempotent, edits become new versions), ``imports`` reads verdicts annotated
elsewhere (Label Studio or Argilla exports). Nothing blocks on the annotators: batches move from pushed to
done as scheduled pulls find their annotations.
"""

from curate.annotate import imports, pull, push
from curate.annotate.config import ImportConfig, LabelStudioConfig, PullConfig, PushConfig, RoutingPolicy

__all__ = ["ImportConfig", "LabelStudioConfig", "PullConfig", "PushConfig", "RoutingPolicy", "imports", "pull", "push"]
