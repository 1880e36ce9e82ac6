"""Rewrite prompts: the packaged causal and style templates, bound to one aspect, versioned by content hash.

A template (``templates/augment_causal.md``, ``augment_style.md``) has a ``--- system ---`` and a
``--- user ---`` section filled with ``string.Template``; the aspect's instruction comes from
``templates/augment_aspects.yaml``. The hash covers the template text and the instruction, so editing
either makes a new generator version (and new candidates). As in every prompt (``curate.llm.prompts``), the
conversation and the response are fenced data, never instructions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from string import Template

from curate import assets, ids
from curate.llm import prompts

CAUSAL = "causal"
STYLE = "style"
_FILES = {CAUSAL: "templates/augment_causal.md", STYLE: "templates/augment_style.md"}
_ASPECTS = "templates/augment_aspects.yaml"

REWRITE_SCHEMA: dict = {
    "type": "object",
    "properties": {"rewrite": {"type": "string"}},
    "required": ["rewrite"],
    "additionalProperties": False,
}
"""What the rewriter must answer; the schema sent in the request's ``response_format``."""


@dataclass(frozen=True)
class RewriteTemplate:
    """One template bound to one aspect (a causal attribute or a style aspect); ``hash`` is its version."""

    family: str
    aspect: str
    system: str
    user: str
    hash: str

    def messages(self, *, prompt: list[dict], response: str, max_chars: int) -> list[dict]:
        """The chat messages asking for a rewrite of ``response``. Conversation turns are cut to ``max_chars``;
        the response is shown whole, since a rewrite of a cut response would differ from the original by the cut."""
        turns = prompts.conversation(prompt, max_chars)
        fields = {"nonce": prompts.nonce(self.hash, turns, response), "conversation": turns, "response": response}
        return [{"role": "system", "content": Template(self.system).substitute(fields)},
                {"role": "user", "content": Template(self.user).substitute(fields)}]


def aspects(family: str) -> list[str]:
    """The aspects a family's template can be bound to, in file order."""
    return list(_aspect_texts()[family])


@cache
def load(family: str, aspect: str) -> RewriteTemplate:
    """The ``family`` template (``causal`` or ``style``) bound to ``aspect``; a KeyError names an unknown aspect."""
    text = assets.text(_FILES[family])
    instruction = _aspect_texts()[family][aspect]
    bound = {k: Template(v).safe_substitute(aspect=aspect.replace("_", " "), instruction=instruction)
             for k, v in prompts.sections(text).items()}
    return RewriteTemplate(family=family, aspect=aspect, system=bound["system"], user=bound["user"],
                           hash=ids.digest("\x1f".join((text, aspect, instruction))))


@cache
def _aspect_texts() -> dict[str, dict[str, str]]:
    return assets.load_yaml(_ASPECTS)
