"""Contrastive rubric generation (OpenRubrics): the writer's request, reading its answer, the judge's text.

For one *current* pair the writer sees the prompt and its labeled pairs (preferred against rejected, the
current pair first) and answers ``{"hard_rules": [...], "principles": [...]}``. A regeneration says which
attempt it is and why the previous one was rejected, and is sent with the next seed, so it is a new request
and, above temperature 0, a new draw. Answers are read forgivingly (prose or code fences around the JSON,
items as strings or objects, an answer cut off by ``max_tokens``): small models rarely answer cleanly, and
a rubric whose items can be read is worth checking.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from curate.judge import endpoint as endpoints
from curate.judge.config import GeneratorConfig
from curate.llm.prompts import clip, conversation, fence
from curate.rubrics import prompts
from curate.rubrics.consistency import Decision
from schemas.vocab import RubricItemType, RubricReason

TEMPLATE = "rubric_generate"

RUBRIC_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "hard_rules": {"type": "array", "items": {"type": "string"}},
        "principles": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["hard_rules", "principles"],
    "additionalProperties": False,
}
"""What the writer must answer; the schema sent in the request's ``response_format``."""

_KEYS = {RubricItemType.HARD_RULE: ("hard_rules", "hard rules", "hardrules", "rules", "constraints"),
         RubricItemType.PRINCIPLE: ("principles", "principle", "criteria", "qualities")}
_ITEM_KEYS = ("text", "rule", "principle", "criterion", "description", "item")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)]|\(\d+\))\s*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_UNREADABLE = (RubricReason.UNPARSEABLE, RubricReason.NO_ITEMS, RubricReason.REQUEST_FAILED)


@dataclass(frozen=True)
class LabeledPair:
    pair_id: str
    chosen: str
    rejected: str


@dataclass(frozen=True)
class Target:
    """A pair to write a rubric for, with its prompt's labeled pairs (the current one first)."""

    pair_id: str
    prompt_id: str
    prompt: list[dict]
    pairs: tuple[LabeledPair, ...]


@dataclass(frozen=True)
class RubricItem:
    type: RubricItemType
    text: str


def template_hash() -> str:
    return prompts.load(TEMPLATE).hash


def messages(target: Target, *, attempt: int, previous: Decision | None, max_chars: int) -> list[dict]:
    """The writer's request for ``target``; ``previous`` is the decision on the attempt before this one."""
    template = prompts.load(TEMPLATE)
    turns = conversation(target.prompt, max_chars)
    shown = [(clip(p.chosen, max_chars), clip(p.rejected, max_chars)) for p in target.pairs]
    nonce = template.nonce(turns, *(text for pair in shown for text in pair))
    pairs = "\n\n".join(f"Pair {i}{' (the current pair)' if i == 1 else ''}:\n"
                        f"{fence(nonce, f'pair {i} preferred', chosen)}\n{fence(nonce, f'pair {i} rejected', rejected)}"
                        for i, (chosen, rejected) in enumerate(shown, start=1))
    user = template.fill("user", nonce=nonce, conversation=turns, pairs=pairs,
                         feedback=_feedback(template, attempt, previous))
    return [{"role": "system", "content": template.fill("system")}, {"role": "user", "content": user}]


def request_params(cfg: GeneratorConfig, attempt: int) -> dict:
    """Sampling parameters of attempt ``attempt``: its own seed, so a regeneration is a new request."""
    return endpoints.generation_params(cfg, "rubric", RUBRIC_SCHEMA, attempt=attempt)


def parse(text: str | None) -> list[RubricItem] | None:
    """The rubric's items in ``text`` (hard rules first), or None when no rubric can be read from it; an empty
    list is a rubric that lists nothing."""
    if not text or not text.strip():
        return None
    found = _object(text)
    lists = ({kind: _entries(found, keys) for kind, keys in _KEYS.items()} if found is not None else _fragments(text))
    if lists is None or all(v is None for v in lists.values()):
        return None
    items, seen = [], set()
    for kind, entries in lists.items():
        for entry in entries or ():
            clean = _BULLET.sub("", _item_text(entry)).strip()
            if clean and clean.lower() not in seen:
                seen.add(clean.lower())
                items.append(RubricItem(kind, clean))
    return items


def render(items: list[RubricItem]) -> str:
    """The rubric as the judge reads it: numbered items under "Hard rules (pass/fail):" and "Principles:"."""
    lines, number = [], 0
    for kind, title in ((RubricItemType.HARD_RULE, "Hard rules (pass/fail):"), (RubricItemType.PRINCIPLE, "Principles:")):
        group = [i.text for i in items if i.type == kind]
        if group:
            lines.append(title)
            for text in group:
                number += 1
                lines.append(f"{number}. {text}")
    return "\n".join(lines)


def _feedback(template: prompts.WriterPrompt, attempt: int, previous: Decision | None) -> str:
    if previous is None:
        return ""
    if previous.reason in _UNREADABLE:
        return "\n" + template.fill("unreadable", attempt=attempt, reason=previous.reason) + "\n"
    return "\n" + template.fill("checked", attempt=attempt, reason=previous.reason, correct=previous.correct,
                                checked=previous.pairs_checked, current="right" if previous.current_correct else "wrong") + "\n"


def _object(text: str) -> dict | None:
    """The first JSON object in ``text`` (prose, code fences or trailing text around it are skipped)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _entries(obj: dict, keys: tuple[str, ...]) -> list | None:
    lowered = {str(k).strip().lower().replace("-", "_"): v for k, v in obj.items()}
    for key in keys:
        value = lowered.get(key, lowered.get(key.replace(" ", "_")))
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [value]
    return None


def _fragments(text: str) -> dict | None:
    """The complete strings of each list in an answer cut off before its JSON closed."""
    lists = {}
    for kind, keys in _KEYS.items():
        match = re.search(r'"(?:' + "|".join(re.escape(k) for k in keys) + r')"\s*:\s*\[(.*?)(?:\]|$)', text,
                          re.IGNORECASE | re.DOTALL)
        lists[kind] = [_unquote(s) for s in _STRING.findall(match.group(1))] if match else None
    return lists


def _unquote(body: str) -> str:
    """A JSON string's body decoded; one with a broken escape is kept as written."""
    try:
        return json.loads(f'"{body}"')
    except ValueError:
        return body


def _item_text(entry: object) -> str:
    if isinstance(entry, dict):
        lowered = {str(k).lower(): v for k, v in entry.items()}
        return next((str(lowered[k]) for k in _ITEM_KEYS if isinstance(lowered.get(k), str)), "")
    return entry if isinstance(entry, str) else ""
