"""Judge prompts: packaged template files, versioned by content hash, with fenced data.

A template file has three sections, ``--- system ---``, ``--- user ---`` and
``--- retry ---`` (the stricter instruction for a re-ask), filled with
``string.Template`` so braces in responses and in the JSON example need no
escaping. The template hash covers everything that shapes the judge's
instructions: the template text, the attribute's definition and question, and
the rubric, so changing any of them is a new judge version.

Responses are data, never instructions. Each block of data (the conversation
and both responses) is fenced as ``<data-NONCE ...> ... </data-NONCE>``, and
the prompt says everything inside is to be judged, not obeyed. The nonce is a
hash of the template and every fenced text: the same pair renders to the same
request (so the cache works), but a response cannot close the fence early
because it cannot contain the hash of itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from string import Template

from curate import assets, ids
from curate.errors import ConfigError
from curate.llm import prompts

TEMPLATES = "templates"
"""Where the packaged templates live, relative to the ``curate`` package (read through ``curate.assets``)."""


@dataclass(frozen=True)
class JudgeTemplate:
    """A template bound to an attribute and an optional rubric; ``hash`` is its version."""

    name: str
    system: str
    user: str
    retry: str
    attribute: str
    definition: str
    question: str
    rubric: str | None
    hash: str

    def messages(self, *, prompt: list[dict], response_a: str, response_b: str, max_chars: int) -> list[dict]:
        """The chat messages judging ``response_a`` against ``response_b`` for ``prompt``."""
        conversation = prompts.conversation(prompt, max_chars)
        a, b = prompts.clip(response_a, max_chars), prompts.clip(response_b, max_chars)
        nonce = prompts.nonce(self.hash, conversation, a, b)
        fields = {"attribute": self.attribute, "definition": self.definition, "question": self.question,
                  "nonce": nonce, "rubric": self._rubric, "conversation": conversation, "response_a": a, "response_b": b}
        return [
            {"role": "system", "content": _fill(self.system, fields)},
            {"role": "user", "content": _fill(self.user, fields)},
        ]

    @cached_property
    def _rubric(self) -> str:
        return Template(_rubric_text()).safe_substitute(rubric=self.rubric.strip()) if self.rubric else ""

    def retry_messages(self, messages: list[dict], *, bad_answer: str | None, attempt: int, max_chars: int) -> list[dict]:
        """A re-ask after an unreadable answer: the conversation so far plus the stricter instruction.

        The bad answer and the attempt number make each re-ask a distinct request, so a cached
        unreadable answer is never served for its own re-ask."""
        return [
            *messages,
            {"role": "assistant", "content": prompts.clip(bad_answer or "", max_chars) or "(no answer)"},
            {"role": "user", "content": Template(self.retry).substitute(attempt=attempt)},
        ]


def load(name: str = "pairwise", *, attribute: str = "overall", rubric: str | None = None) -> JudgeTemplate:
    """The packaged template ``name`` (or a template file at that path), bound to ``attribute`` and ``rubric``."""
    text = _template_text(name)
    sections = _sections(text, name)
    attributes = attribute_definitions()
    if attribute not in attributes:
        raise ConfigError(f"unknown judge attribute {attribute!r}; known: {', '.join(sorted(attributes))}", attribute=attribute)
    definition, question = attributes[attribute]["definition"], attributes[attribute]["question"]
    version = ids.digest("\x1f".join((text, _rubric_text(), attribute, definition, question, rubric or "")))
    return JudgeTemplate(name=Path(name).stem, attribute=attribute, definition=definition, question=question,
                         rubric=rubric, hash=version, **sections)


@cache
def attribute_definitions() -> dict[str, dict[str, str]]:
    """Attribute name -> its definition and question, from ``templates/attributes.yaml``."""
    return assets.load_yaml(f"{TEMPLATES}/attributes.yaml")


def template_names() -> list[str]:
    """The packaged judge templates: the folder also holds the card, the rubric insert and the writers' templates."""
    return sorted(p.name.removesuffix(".md") for p in assets.path(TEMPLATES).iterdir()
                  if p.name.endswith(".md") and _is_judge_template(p.read_text(encoding="utf-8")))


def _is_judge_template(text: str) -> bool:
    return {"system", "user", "retry"} <= set(prompts.SECTION.findall(text)) and "${response_a}" in text


def _template_text(name: str) -> str:
    if name in template_names():
        return assets.text(f"{TEMPLATES}/{name}.md")
    path = Path(name)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    raise ConfigError(f"unknown judge template {name!r}: not a packaged template ({', '.join(template_names())}) nor a file",
                      template=name)


def _sections(text: str, name: str) -> dict[str, str]:
    sections = prompts.sections(text)
    missing = {"system", "user", "retry"} - set(sections)
    if missing:
        raise ConfigError(f"judge template {name!r} lacks section(s) {', '.join(sorted(missing))}: "
                          "it needs '--- system ---', '--- user ---' and '--- retry ---' lines", template=name)
    if not all(f"${{{field}}}" in sections["user"] for field in ("nonce", "response_a", "response_b")):
        raise ConfigError(f"judge template {name!r}: the user section must fence ${{response_a}} and ${{response_b}} "
                          "with ${nonce} markers", template=name)
    return sections


def _fill(template: str, fields: dict[str, str]) -> str:
    """``Template(template).substitute(fields)``, from the template split once into literal text and
    field names: a judge run fills the same two templates for every request."""
    literals, names = _split(template)
    out = [literals[0]]
    for name, literal in zip(names, literals[1:]):
        out += (fields[name], literal)
    return "".join(out)


@cache
def _split(template: str) -> tuple[list[str], list[str]]:
    """A ``string.Template`` text as alternating literals and field names (``$$`` is a literal ``$``)."""
    literals, names, last = [""], [], 0
    for match in Template.pattern.finditer(template):
        literals[-1] += template[last:match.start()]
        last = match.end()
        if match.group("escaped") is not None:
            literals[-1] += "$"
        elif (name := match.group("named") or match.group("braced")) is not None:
            names.append(name)
            literals.append("")
        else:
            raise ValueError(f"invalid placeholder in a judge template at offset {match.start()}")
    literals[-1] += template[last:]
    return literals, names


@cache
def _rubric_text() -> str:
    return assets.text(f"{TEMPLATES}/rubric.md")
