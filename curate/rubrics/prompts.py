"""Writer prompts of the rubric writer and the principle extractor: packaged templates with fenced data.

A template (``templates/rubric_generate.md``, ``templates/principles_extract.md``) has named sections
(``system``, ``user``, and for the writer what a regeneration adds); its content hash is the writer's
``template_hash``. Sections, clipping and fences are ``curate.llm.prompts``': data is fenced, never obeyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from string import Template

from curate import assets, ids
from curate.llm import prompts


@dataclass(frozen=True)
class WriterPrompt:
    """One packaged writer template; ``hash`` is its version."""

    name: str
    sections: dict[str, str]
    hash: str

    def nonce(self, *texts: str) -> str:
        """The fence marker for a request showing ``texts``: the same texts, the same request."""
        return prompts.nonce(self.hash, *texts)

    def fill(self, section: str, **fields: object) -> str:
        return Template(self.sections[section]).substitute({k: str(v) for k, v in fields.items()})


@cache
def load(name: str) -> WriterPrompt:
    """The packaged template ``templates/<name>.md``."""
    text = assets.text(f"templates/{name}.md")
    return WriterPrompt(name=name, sections=prompts.sections(text), hash=ids.digest(text))
