"""Deterministic rewrites, no LLM: style-only (neutral) changes and rule-based (causal) degradations.

Neutral rules change how a response looks, never what it says, so a pair (original, rewrite) is a tie:

- ``bullets_to_prose``: a markdown list (``-``, ``*``, ``+``, ``•`` items) becomes one paragraph of sentences;
- ``prose_to_bullets``: prose of two or more sentences becomes one ``- `` item per sentence;
- ``whitespace``: messy whitespace normalized (runs of spaces, trailing spaces, 3+ newlines), then every
  sentence break set to a blank line or to two spaces (``key`` picks which);
- ``filler_opener``: a phrase that adds length and no content (``assets/filler_openers.txt``, ``key`` picks
  which) before the text.

Each keeps the words and their order (markers and whitespace aside), and each is a projection: a rule applied
to its own output with the same key changes nothing, so it offers no rewrite. Texts with a fenced code block
get no list or whitespace rewrite (whitespace is meaning there).

Causal rules degrade one attribute on purpose (original > degraded): ``truncate`` keeps the first third of
the sentences (at least one, at a sentence boundary), which degrades ``completeness``. Other attributes
(relevance, factuality, ...) need another text or world knowledge: LLM only, no rule here.

``RULES_VERSION`` hashes the rule names and every parameter (openers, patterns, shares): it changes exactly
when a rule's output may change.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache

from curate import assets
from schemas.vocab import CausalAttribute

NEUTRAL_RULES: tuple[str, ...] = ("bullets_to_prose", "prose_to_bullets", "whitespace", "filler_opener")
CAUSAL_RULES: dict[str, str] = {"truncate": CausalAttribute.COMPLETENESS.value}
OPENERS_FILE = "assets/filler_openers.txt"

KEEP_SHARE = 1 / 3  # truncate: the share of sentences kept (rounded down, at least one)
MIN_REMOVED_SHARE = 0.3  # truncate: at least this share of the characters must go, else no degradation
MIN_BULLETS = 2  # bullets_to_prose: list items needed
MIN_SENTENCES = 2  # prose_to_bullets, truncate: sentences needed
ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "no", "inc", "ltd", "approx")

_BULLET = re.compile(r"^([ \t]*)[-*+•][ \t]+(\S.*?)[ \t]*$")
_NUMBERED = re.compile(r"^[ \t]*\d{1,3}[.)][ \t]+\S")
_BREAK = re.compile(r"([.!?…]+[\"'”’)\]]*)[ \t]+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|([。！？]+[」』”）]*)[ \t]*(?=\S)")
_END = re.compile(r"[.!?…:;。！？][\"'”’)\]」』）]*$")
_FENCE = "```"


@dataclass(frozen=True)
class Rewrite:
    name: str  # the rule (a NEUTRAL_RULES entry or a CAUSAL_RULES key)
    text: str


def neutral_rewrites(text: str, *, key: str) -> list[Rewrite]:
    """The style-only rewrites that apply to ``text`` and change it, in ``NEUTRAL_RULES`` order; ``key`` (a pair id,
    say) seeds every choice, so one key always gives the same rewrites."""
    out = []
    for name in NEUTRAL_RULES:
        new = _NEUTRAL[name](text, key)
        if new is not None and new != text and new.strip():
            out.append(Rewrite(name, new))
    return out


def causal_degrade(text: str, attribute: str, *, key: str) -> Rewrite | None:
    """A deterministic degradation of ``attribute`` (a ``CausalAttribute`` value) where a rule exists for it and
    applies to ``text``; None otherwise. Raises ValueError for a value outside the vocabulary."""
    attribute = CausalAttribute(attribute).value
    for name, target in CAUSAL_RULES.items():
        if target == attribute:
            new = _CAUSAL[name](text, key)
            return Rewrite(name, new) if new is not None and new != text and new.strip() else None
    return None


# ------------------------------------------------------------------------------------------------ neutral


def bullets_to_prose(text: str, key: str = "") -> str | None:
    lines = text.split("\n")
    if _FENCE in text or sum(bool(_BULLET.match(line)) for line in lines) < MIN_BULLETS:
        return None
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, None]:
        m = _BULLET.match(line) if line is not None else None
        if m:
            item = m.group(2)
            run.append(item if _END.search(item) else item + ".")
            continue
        if run:
            out.append(" ".join(run))
            run = []
        if line is not None:
            out.append(line)
    return "\n".join(out)


def prose_to_bullets(text: str, key: str = "") -> str | None:
    lines = text.split("\n")
    if _FENCE in text or any(_BULLET.match(line) or _NUMBERED.match(line) for line in lines):
        return None
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text.strip()) if p.strip()]
    items = [[s for line in p.split("\n") for s in sentences(line)] for p in paragraphs]
    if sum(len(i) for i in items) < MIN_SENTENCES:
        return None
    return "\n\n".join("\n".join(f"- {s}" for s in group) for group in items if group)


def whitespace(text: str, key: str) -> str | None:
    if _FENCE in text:
        return None
    tidy = _tidy(text)
    joiner = ("\n\n", "  ")[_choice(key, "whitespace", 2)]
    lines = []
    for line in tidy.split("\n"):
        if _BULLET.match(line) or _NUMBERED.match(line) or joiner == "\n\n" and line[:1] in (" ", "\t"):
            lines.append(line)  # list items and indented lines keep their shape (a break would end the item)
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        parts = sentences(line)
        lines.append(indent + joiner.join(parts) if parts else line)
    return "\n".join(lines)


def filler_opener(text: str, key: str) -> str | None:
    openers = filler_openers()
    head = text.lstrip()
    if not head or any(head.startswith(o) for o in openers):
        return None
    return f"{openers[_choice(key, 'filler_opener', len(openers))]} {head}"


# ------------------------------------------------------------------------------------------------ causal


def truncate(text: str, key: str = "") -> str | None:
    """The first third of the sentences (at least one), cut at a sentence boundary; None below two sentences or
    when less than ``MIN_REMOVED_SHARE`` of the characters would go."""
    if _FENCE in text:
        return None
    ends = _sentence_ends(text)
    if len(ends) < MIN_SENTENCES:
        return None
    kept = text[: ends[max(1, int(len(ends) * KEEP_SHARE)) - 1]].rstrip()
    if len(kept) > (1 - MIN_REMOVED_SHARE) * len(text.strip()):
        return None
    return kept


# ------------------------------------------------------------------------------------------------ helpers


def sentences(line: str) -> list[str]:
    """The sentences of one line (no newline), stripped; the break after an abbreviation is no break."""
    out, start = [], 0
    for m in _BREAK.finditer(line):
        if m.group(1) and _abbreviation(line, m.start()):
            continue
        end = m.end(1) if m.group(1) else m.end(2)
        piece = line[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = line[start:].strip()
    return [*out, tail] if tail else out


def _sentence_ends(text: str) -> list[int]:
    """Offsets in ``text`` where each sentence (or list item, or line) ends."""
    ends, offset = [], 0
    for line in text.split("\n"):
        if line.strip():
            for m in _BREAK.finditer(line):
                if not (m.group(1) and _abbreviation(line, m.start())):
                    ends.append(offset + (m.end(1) if m.group(1) else m.end(2)))
            ends.append(offset + len(line.rstrip()))
        offset += len(line) + 1
    return sorted(set(ends))


def _abbreviation(line: str, dot: int) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", line[:dot])
    return bool(word) and (word.group(1).lower() in ABBREVIATIONS or len(word.group(1)) == 1 and word.group(1).isupper())


def _tidy(text: str) -> str:
    """Runs of spaces inside a line to one, trailing spaces dropped, three or more newlines to two."""
    text = text.replace("\r\n", "\n")
    text = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text)


def _choice(key: str, rule: str, n: int) -> int:
    """A deterministic index in [0, n) from the key and the rule (independent choices per rule)."""
    return int.from_bytes(hashlib.sha256(f"{rule}\x1f{key}".encode()).digest()[:8], "big") % n


@cache
def filler_openers() -> tuple[str, ...]:
    """The packaged openers, in file order."""
    lines = (line.strip() for line in assets.text(OPENERS_FILE).splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


_NEUTRAL = {"bullets_to_prose": bullets_to_prose, "prose_to_bullets": prose_to_bullets, "whitespace": whitespace,
            "filler_opener": filler_opener}
_CAUSAL = {"truncate": truncate}


def _version() -> str:
    spec = {"neutral": NEUTRAL_RULES, "causal": CAUSAL_RULES, "openers": filler_openers(), "keep_share": KEEP_SHARE,
            "min_removed_share": MIN_REMOVED_SHARE, "min_bullets": MIN_BULLETS, "min_sentences": MIN_SENTENCES,
            "abbreviations": ABBREVIATIONS, "patterns": [p.pattern for p in (_BULLET, _NUMBERED, _BREAK, _END)],
            "whitespace_joiners": ["\n\n", "  "]}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


RULES_VERSION: str = _version()
