"""What every prompt template in curate shares: named sections, clipped turns and fenced data.

A template file is split into sections by ``--- name ---`` lines (``system``, ``user``, ...), each filled with
``string.Template`` so braces in responses and in a JSON example need no escaping. Data (the conversation, the
responses, feedback text) is never instructions: each block is fenced as ``<data-NONCE name=...>``, where the
nonce hashes the template's version and every fenced text. The same input then renders to the same request (the
LLM cache answers a re-run), and no text can close its fence early, because it cannot contain the hash of itself.
"""

from __future__ import annotations

import re

from curate import ids

SECTION = re.compile(r"^--- (\w+) ---$", re.MULTILINE)
"""A section header line of a template file."""


def sections(text: str) -> dict[str, str]:
    """A template file's sections by name, each without its surrounding blank lines."""
    parts = SECTION.split(text)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}


def clip(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, with a visible mark where text was cut."""
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n[... {len(text) - max_chars} more characters cut]"


def conversation(prompt: list[dict], max_chars: int) -> str:
    """The prompt's turns as one text, ``[role]`` then content, each turn cut to ``max_chars``."""
    return "\n\n".join(f"[{m['role']}]\n{clip(m['content'], max_chars)}" for m in prompt)


def nonce(version: str, *texts: str) -> str:
    """The fence marker of a request showing ``texts`` under template version ``version``."""
    return ids.digest("\x1f".join((version, *texts)))[:16]


def fence(marker: str, name: str, text: str) -> str:
    """``text`` as one block of data named ``name``."""
    return f'<data-{marker} name="{name}">\n{text}\n</data-{marker}>'
