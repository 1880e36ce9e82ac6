"""Content hashes and the ids derived from them.

``prompt_id`` hashes the normalized prompt messages; ``pair_id`` hashes the
prompt id with the *sorted* hashes of both responses, so one comparison seen
in either order gets one id and the label stays a column, not part of the id.
Hashes are the first 128 bits of SHA-256, in hex.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_SEP = "\x1f"
_LINE_ENDINGS = re.compile(r"\r\n?")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def normalize(text: str) -> str:
    """Canonical form for hashing: NFC, ``\\n`` line endings, no trailing or surrounding whitespace."""
    text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = _LINE_ENDINGS.sub("\n", text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE.sub("\n", text)
    return text.strip()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_hash(text: str) -> str:
    """Hash of one normalized text (a response, a message)."""
    return digest(normalize(text))


def prompt_id(messages: Iterable[tuple[str, str]]) -> str:
    """Hash of the normalized prompt: roles and contents, in order."""
    return digest(_SEP.join(f"{role}:{normalize(content)}" for role, content in messages))


def pair_id(prompt: str, response_hash_a: str, response_hash_b: str) -> str:
    """Order-free id of a comparison: the same two responses in either order collide."""
    low, high = sorted((response_hash_a, response_hash_b))
    return digest(_SEP.join((prompt, low, high)))
