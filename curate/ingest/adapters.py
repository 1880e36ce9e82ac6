"""Format adapters: from one source record to canonical candidate pairs.

An adapter is a pure function from a raw record to a list of
:class:`Candidate` pairs; it raises :class:`Reject` with a reason code when
the record cannot make one. Adapters register by name with
:func:`register_adapter`; detection tries them in registration order, so the
most specific layouts come first and the generic TRL layout last.

Grouped adapters (HelpSteer2, one response per row) turn each row into a
:class:`Response`; consecutive rows with the same prompt are then paired by
the same rule as UltraFeedback completions (:func:`pair_by_score`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from curate.errors import UnknownAdapterError
from schemas import RejectReason

ROLES = ("system", "user", "assistant")
_COMMON_KEYS = frozenset({"language", "lang", "annotator", "annotator_id", "worker_id", "justification", "rationale"})
HELPSTEER_ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
_HH_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")
_HELPSTEER_TURN = re.compile(r"\n?<extra_id_1>(User|Assistant)\n")


class Reject(Exception):
    """A record that cannot become a pair, with a machine-readable reason."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Candidate:
    """One preference pair in canonical form, before ids and dedup."""

    prompt: list[tuple[str, str]]
    chosen: str
    rejected: str
    tie: bool = False
    strength: int | None = None
    chosen_ratings: dict[str, float] | None = None
    rejected_ratings: dict[str, float] | None = None
    justification: str | None = None
    language: str | None = None
    language_detected: bool = False
    annotator: str | None = None
    meta: dict = field(default_factory=dict)


@dataclass(slots=True)
class Response:
    """One rated response to a prompt (a row of a per-response layout)."""

    prompt: list[tuple[str, str]]
    text: str
    score: float
    ratings: dict[str, float]
    meta: dict


@dataclass(frozen=True)
class Options:
    """Adapter options that change how pairs are formed."""

    include_ties: bool = False


@dataclass(frozen=True)
class Adapter:
    name: str
    detect: Callable[[dict], bool]
    convert: Callable[[dict, Options], list[Candidate]] | None = None
    to_response: Callable[[dict], Response] | None = None
    doc: str = ""

    @property
    def grouped(self) -> bool:
        return self.to_response is not None


ADAPTERS: dict[str, Adapter] = {}


def register_adapter(name: str, *, detect: Callable[[dict], bool], grouped: bool = False):
    """Register ``fn`` as adapter ``name``; a duplicate name fails at import."""

    def wrap(fn):
        if name in ADAPTERS:
            raise ValueError(f"adapter {name!r} is already registered")
        kind = {"to_response": fn} if grouped else {"convert": fn}
        ADAPTERS[name] = Adapter(name=name, detect=detect, doc=(fn.__doc__ or "").strip(), **kind)
        return fn

    return wrap


def get_adapter(name: str) -> Adapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UnknownAdapterError(f"unknown format {name!r}; known formats: {', '.join(ADAPTERS)}") from None


def detect_adapter(records: list[dict]) -> Adapter | None:
    """The adapter that recognizes the most sample records (earliest registered wins ties)."""
    best, best_hits = None, 0
    for adapter in ADAPTERS.values():
        hits = sum(1 for r in records if adapter.detect(r))
        if hits > best_hits:
            best, best_hits = adapter, hits
    return best


def apply_column_map(record: dict, column_map: dict[str, str]) -> dict:
    """Rename source columns to canonical names (``{"prompt": "question"}`` reads ``question`` as ``prompt``)."""
    if not column_map:
        return record
    mapped = {k: v for k, v in record.items() if k not in column_map.values()}
    for target, source in column_map.items():
        if source in record:
            mapped[target] = record[source]
    return mapped


# ---------------------------------------------------------------- validation


def text(value: object, what: str) -> str:
    """A non-empty string, or a reject that says which field was wrong."""
    if value is None:
        raise Reject(RejectReason.MISSING_FIELD, f"{what} is missing")
    if not isinstance(value, str):
        raise Reject(RejectReason.NON_STRING_CONTENT, f"{what} is {type(value).__name__}, not a string")
    if not value.strip():
        raise Reject(RejectReason.EMPTY_CONTENT, f"{what} is empty")
    return value


def require(record: dict, key: str) -> object:
    if record.get(key) is None:
        raise Reject(RejectReason.MISSING_FIELD, f"field {key!r} is missing")
    return record[key]


def messages(value: object, what: str) -> list[tuple[str, str]]:
    """Chat messages as ``(role, content)`` pairs; a bare string is one user message."""
    if isinstance(value, str):
        return [("user", text(value, what))]
    if not isinstance(value, list) or not value:
        raise Reject(RejectReason.MISSING_FIELD, f"{what} must be a string or a non-empty list of messages")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise Reject(RejectReason.MISSING_FIELD, f"{what}[{i}] is not a message object")
        role = message.get("role")
        if role not in ROLES:
            raise Reject(RejectReason.BAD_ROLE, f"{what}[{i}] has role {role!r}; expected one of {ROLES}")
        out.append((role, text(message.get("content"), f"{what}[{i}].content")))
    return out


def check_prompt(prompt: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An optional system message, then user/assistant turns alternating, ending with the user."""
    roles = [role for role, _ in prompt]
    if roles and roles[0] == "system":
        roles = roles[1:]
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(roles))]
    if not roles or roles != expected or roles[-1] != "user":
        raise Reject(RejectReason.BAD_ROLE_ORDER, f"prompt roles {[r for r, _ in prompt]} do not alternate user/assistant ending with user")
    return prompt


def response(value: object, what: str) -> str:
    """One assistant response: a string, a message, or a one-message list."""
    if isinstance(value, list):
        if len(value) != 1:
            raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} holds {len(value)} messages; expected one assistant message")
        value = value[0]
    if isinstance(value, dict):
        if value.get("role", "assistant") != "assistant":
            raise Reject(RejectReason.BAD_ROLE, f"{what} has role {value.get('role')!r}; expected 'assistant'")
        value = value.get("content")
    return text(value, what)


def strength(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Reject(RejectReason.BAD_STRENGTH, f"strength {value!r} is not a number") from None
    if number != int(number) or not -3 <= number <= 3:
        raise Reject(RejectReason.BAD_STRENGTH, f"strength {value!r} is not an integer in -3..3")
    return int(number)


def ratings(value: object, what: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"overall": value}
    try:
        return {str(k): float(v) for k, v in value.items() if v is not None}
    except (TypeError, ValueError):
        raise Reject(RejectReason.BAD_RATING, f"{what} {value!r} holds a non-numeric rating") from None


def common_fields(record: dict, used: set[str]) -> dict:
    """Fields every layout may carry, plus ``meta`` with whatever no adapter column claimed."""
    claimed = used | _COMMON_KEYS
    annotator = record.get("annotator") or record.get("annotator_id") or record.get("worker_id")
    language = record.get("language") or record.get("lang")
    return {
        "language": str(language).lower() if language else None,
        "annotator": str(annotator) if annotator is not None else None,
        "justification": record.get("justification") or record.get("rationale"),
        "meta": {k: v for k, v in record.items() if k not in claimed},
    }


def pair_by_score(responses: list[Response], options: Options) -> list[Candidate]:
    """The best-scored response against each lower-scored one.

    Responses that equal the best score become ties when ``include_ties`` is
    set and are skipped otherwise. No pair at all (one response, or all equal
    without ties) rejects the row with ``equal_ratings`` or ``unpaired_response``.
    """
    if len(responses) < 2:
        raise Reject(RejectReason.UNPAIRED_RESPONSE, "a prompt needs at least two responses to form a pair")
    ranked = sorted(responses, key=lambda r: -r.score)
    best = ranked[0]
    pairs = []
    for other in ranked[1:]:
        if other.text == best.text:
            continue
        tie = other.score == best.score
        if tie and not options.include_ties:
            continue
        pairs.append(
            Candidate(
                prompt=best.prompt,
                chosen=best.text,
                rejected=other.text,
                tie=tie,
                strength=0 if tie else None,
                chosen_ratings=best.ratings,
                rejected_ratings=other.ratings,
                meta={"chosen": best.meta, "rejected": other.meta},
            )
        )
    if not pairs:
        raise Reject(RejectReason.EQUAL_RATINGS, f"all {len(responses)} responses share the best score {best.score}")
    return pairs


# ---------------------------------------------------------------- adapters (most specific first)


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


@register_adapter("helpsteer2_preference", detect=lambda r: "response_1" in r and "response_2" in r)
def _helpsteer2_preference(record: dict, options: Options) -> list[Candidate]:
    """HelpSteer2-Preference: ``response_1``/``response_2`` with ``preference_strength`` (-3..3; negative = response 1 better)."""
    prompt = helpsteer_prompt(require(record, "prompt"))
    first = text(record.get("response_1"), "response_1")
    second = text(record.get("response_2"), "response_2")
    signed = strength(require(record, "preference_strength"))
    if signed is None:
        raise Reject(RejectReason.MISSING_FIELD, "field 'preference_strength' is empty")
    chosen, rejected = (second, first) if signed > 0 else (first, second)
    fields = common_fields(record, {"prompt", "response_1", "response_2", "preference_strength", "preference_statement"})
    fields["justification"] = record.get("preference_statement") or fields["justification"]
    return [Candidate(prompt=prompt, chosen=chosen, rejected=rejected, tie=signed == 0, strength=abs(signed), **fields)]


@register_adapter("helpsteer2", detect=lambda r: "response" in r and "helpfulness" in r, grouped=True)
def _helpsteer2(record: dict) -> Response:
    """HelpSteer2: one response per row with attribute ratings; rows of one prompt are paired by helpfulness."""
    values = {a: record.get(a) for a in HELPSTEER_ATTRIBUTES if record.get(a) is not None}
    scores = ratings(values, "ratings") or {}
    if "helpfulness" not in scores:
        raise Reject(RejectReason.MISSING_FIELD, "field 'helpfulness' is missing")
    used = {"prompt", "response", *HELPSTEER_ATTRIBUTES}
    return Response(
        prompt=helpsteer_prompt(require(record, "prompt")),
        text=text(record.get("response"), "response"),
        score=scores["helpfulness"],
        ratings=scores,
        meta={k: v for k, v in record.items() if k not in used},
    )


@register_adapter("ultrafeedback", detect=lambda r: isinstance(r.get("completions"), list))
def _ultrafeedback(record: dict, options: Options) -> list[Candidate]:
    """UltraFeedback: one ``instruction`` with rated ``completions``; pairs are best vs each lower-rated."""
    prompt = messages(record.get("instruction", record.get("prompt")), "instruction")
    completions = require(record, "completions")
    responses = []
    for i, completion in enumerate(completions):
        if not isinstance(completion, dict):
            raise Reject(RejectReason.MISSING_FIELD, f"completions[{i}] is not an object")
        score = _completion_score(completion, i)
        responses.append(
            Response(
                prompt=prompt,
                text=text(completion.get("response"), f"completions[{i}].response"),
                score=score,
                ratings={"overall": score},
                meta={"model": completion.get("model")},
            )
        )
    pairs = pair_by_score(responses, options)
    fields = common_fields(record, {"instruction", "prompt", "completions"})
    for pair in pairs:
        pair.meta = {**fields["meta"], **pair.meta}
        pair.language = fields["language"]
    return pairs


@register_adapter(
    "hh",
    detect=lambda r: isinstance(r.get("chosen"), str) and "prompt" not in r and "Human:" in r["chosen"],
)
def _hh(record: dict, options: Options) -> list[Candidate]:
    """Anthropic HH-RLHF: full ``chosen``/``rejected`` transcripts; the shared turns are the prompt."""
    chosen_turns = hh_turns(text(record.get("chosen"), "chosen"), "chosen")
    rejected_turns = hh_turns(text(record.get("rejected"), "rejected"), "rejected")
    if chosen_turns[:-1] != rejected_turns[:-1]:
        raise Reject(RejectReason.PROMPT_MISMATCH, "chosen and rejected transcripts differ before their last turn")
    return [
        Candidate(
            prompt=check_prompt(chosen_turns[:-1]),
            chosen=text(chosen_turns[-1][1], "chosen final assistant turn"),
            rejected=text(rejected_turns[-1][1], "rejected final assistant turn"),
            **common_fields(record, {"chosen", "rejected"}),
        )
    ]


@register_adapter("trl", detect=lambda r: "chosen" in r and "rejected" in r)
def _trl(record: dict, options: Options) -> list[Candidate]:
    """TRL preference data, standard (strings) or conversational (message lists), explicit or implicit prompt."""
    chosen, rejected = require(record, "chosen"), require(record, "rejected")
    if record.get("prompt") is not None:
        prompt = messages(record["prompt"], "prompt")
    elif isinstance(chosen, list) and isinstance(rejected, list):
        prompt, chosen, rejected = _split_implicit_prompt(messages(chosen, "chosen"), messages(rejected, "rejected"))
    else:
        raise Reject(RejectReason.MISSING_FIELD, "field 'prompt' is missing (and chosen/rejected are not conversations)")
    signed = strength(record.get("strength"))
    tie = bool(record.get("tie")) or signed == 0
    used = {"prompt", "chosen", "rejected", "strength", "tie", "score_chosen", "score_rejected", "chosen_ratings", "rejected_ratings"}
    return [
        Candidate(
            prompt=check_prompt(prompt),
            chosen=response(chosen, "chosen"),
            rejected=response(rejected, "rejected"),
            tie=tie,
            strength=0 if tie else signed,
            chosen_ratings=ratings(record.get("chosen_ratings", record.get("score_chosen")), "chosen ratings"),
            rejected_ratings=ratings(record.get("rejected_ratings", record.get("score_rejected")), "rejected ratings"),
            **common_fields(record, used),
        )
    ]


# ---------------------------------------------------------------- layout helpers


def hh_turns(transcript: str, what: str) -> list[tuple[str, str]]:
    """Split a ``\\n\\nHuman: ... \\n\\nAssistant: ...`` transcript into turns; it must end with the assistant."""
    pieces = _HH_TURN.split(transcript)
    if pieces[0].strip():
        raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} has text before its first Human/Assistant marker")
    turns = [("user" if speaker == "Human" else "assistant", body.strip()) for speaker, body in zip(pieces[1::2], pieces[2::2])]
    if len(turns) < 2 or turns[-1][0] != "assistant":
        raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} does not end with an Assistant turn")
    for role, content in turns[:-1]:
        if not content:
            raise Reject(RejectReason.EMPTY_CONTENT, f"{what} has an empty {role} turn")
    return turns


def helpsteer_prompt(value: object) -> list[tuple[str, str]]:
    """A HelpSteer2 prompt; multi-turn ones separate turns with ``<extra_id_1>User`` / ``<extra_id_1>Assistant``."""
    prompt = text(value, "prompt")
    pieces = _HELPSTEER_TURN.split(prompt)
    turns = [("user", pieces[0].strip())]
    turns += [("user" if who == "User" else "assistant", body.strip()) for who, body in zip(pieces[1::2], pieces[2::2])]
    for role, content in turns:
        text(content, f"prompt {role} turn")
    return check_prompt(turns)


def _split_implicit_prompt(chosen: list[tuple[str, str]], rejected: list[tuple[str, str]]):
    """Implicit-prompt conversations: everything before the final assistant message is the prompt."""
    if chosen[:-1] != rejected[:-1]:
        raise Reject(RejectReason.PROMPT_MISMATCH, "chosen and rejected conversations differ before their last message")
    for what, conversation in (("chosen", chosen), ("rejected", rejected)):
        if conversation[-1][0] != "assistant":
            raise Reject(RejectReason.BAD_ROLE_ORDER, f"{what} conversation does not end with an assistant message")
    return chosen[:-1], chosen[-1][1], rejected[-1][1]


def _completion_score(completion: dict, index: int) -> float:
    for key in ("overall_score", "fine-grained_score", "score", "rating"):
        if completion.get(key) is not None:
            try:
                return float(completion[key])
            except (TypeError, ValueError):
                raise Reject(RejectReason.BAD_RATING, f"completions[{index}].{key} is not a number") from None
    raise Reject(RejectReason.MISSING_FIELD, f"completions[{index}] has no overall_score, fine-grained_score or score")
