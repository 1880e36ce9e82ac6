"""Closed vocabularies stored in table columns (outcomes, reason codes, kinds)."""

from enum import StrEnum


class Outcome(StrEnum):
    """What became of one input row. Every row gets exactly one."""

    ACCEPTED = "accepted"  # produced at least one new pair
    DUPLICATE = "duplicate"  # every pair it produced was already known with the same label
    CONFLICT = "conflict"  # it contradicts the label of a known pair (recorded, never overwritten)
    REJECTED = "rejected"  # quarantined with a reason code


class RejectReason(StrEnum):
    """Machine-readable reasons for a rejected row (``raw_rows.reason``)."""

    INVALID_UTF8 = "invalid_utf8"
    MALFORMED_JSON = "malformed_json"
    MALFORMED_CSV = "malformed_csv"
    NOT_AN_OBJECT = "not_an_object"
    TOO_LARGE = "too_large"
    UNKNOWN_FORMAT = "unknown_format"
    MISSING_FIELD = "missing_field"
    NON_STRING_CONTENT = "non_string_content"
    EMPTY_CONTENT = "empty_content"
    BAD_ROLE = "bad_role"
    BAD_ROLE_ORDER = "bad_role_order"
    PROMPT_MISMATCH = "prompt_mismatch"
    IDENTICAL_RESPONSES = "identical_responses"
    BAD_STRENGTH = "bad_strength"
    BAD_RATING = "bad_rating"
    EQUAL_RATINGS = "equal_ratings"
    UNPAIRED_RESPONSE = "unpaired_response"


class ConflictKind(StrEnum):
    """How a row contradicts the label already stored for the same comparison."""

    REVERSED = "reversed"  # prefers the response the stored pair rejected
    TIE = "tie"  # calls a tie where the stored pair has a preference
    PREFERENCE = "preference"  # states a preference where the stored pair is a tie


class PairKind(StrEnum):
    """Where a pair came from: the source itself, or a later augmentation."""

    ORIGINAL = "original"
    CAUSAL = "causal"
    NEUTRAL = "neutral"
    ADVERSARIAL = "adversarial"
