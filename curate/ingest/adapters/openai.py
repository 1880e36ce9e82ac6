"""OpenAI preference fine-tuning JSONL (``input.messages``, ``preferred_output``, ``non_preferred_output``)."""

from __future__ import annotations

from curate.ingest.adapters.fields import Candidate, Options, check_prompt, common_fields, messages, require, response
from curate.ingest.adapters.registry import register_adapter


@register_adapter(
    "openai", detect=lambda r: "preferred_output" in r and "non_preferred_output" in r
)
def _openai(record: dict, options: Options) -> list[Candidate]:
    """OpenAI preference fine-tuning JSONL: ``input.messages``, ``preferred_output``, ``non_preferred_output``."""
    source_input = require(record, "input")
    prompt = messages(source_input.get("messages") if isinstance(source_input, dict) else None, "input.messages")
    return [
        Candidate(
            prompt=check_prompt(prompt),
            chosen=response(require(record, "preferred_output"), "preferred_output"),
            rejected=response(require(record, "non_preferred_output"), "non_preferred_output"),
            **common_fields(record, {"input", "preferred_output", "non_preferred_output"}),
        )
    ]
