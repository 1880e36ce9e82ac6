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
    BAD_TIE = "bad_tie"  # a tie value that is not a recognized boolean
    UNREADABLE_SOURCE = "unreadable_source"  # the file broke off (truncated or corrupt); the rows before it are kept


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


class RequestStatus(StrEnum):
    """How one LLM request attempt ended (``llm_requests.status``, ``ChatResult.status``)."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # a limit stopped it before it was sent; never stored


class JudgmentStatus(StrEnum):
    """How one judge order x sample ended (``judgments.status``)."""

    OK = "ok"
    UNPARSEABLE = "unparseable"  # answered, but no verdict could be read (the text stays in llm_requests)
    FAILED = "failed"  # the request failed
    SKIPPED = "skipped"  # a limit stopped it: no row is written


FINAL_JUDGMENT_STATUSES = (JudgmentStatus.OK, JudgmentStatus.UNPARSEABLE)
"""Statuses that count as done: a re-run skips them (an unparseable answer is cached, so it would repeat)."""


class Position(StrEnum):
    """The position a judge picked (``judgments.winner``)."""

    A = "A"
    B = "B"
    TIE = "tie"


class Verdict(StrEnum):
    """A verdict mapped back to the pair (``judgments.verdict``, ``annotations.verdict``)."""

    CHOSEN = "chosen"  # agrees with the stored label
    REJECTED = "rejected"  # prefers the stored rejected response: against the label
    TIE = "tie"


class NoiseMethod(StrEnum):
    """Scoring methods in ``noise_scores.method`` (and ``rm_scores.method`` for the reward-model ones)."""

    BT = "bt"
    ENSEMBLE = "ensemble"
    PEER = "peer"
    CONFIDENT = "confident"
    DYNAMICS = "dynamics"  # training dynamics of the cross-fit heads (area under the margin)
    CROSS = "cross"  # a fine-tuned cross-encoder reading the pair; opt-in (slow on a CPU)
    JUDGE = "judge"
    HUMAN = "human"
    FUSED = "fused"


RM_METHODS = (NoiseMethod.BT, NoiseMethod.ENSEMBLE, NoiseMethod.PEER, NoiseMethod.CONFIDENT, NoiseMethod.DYNAMICS, NoiseMethod.CROSS)
EVIDENCE_METHODS = (NoiseMethod.JUDGE, NoiseMethod.HUMAN)


class Decision(StrEnum):
    """What a release does with a pair (``release_rows.decision``)."""

    KEEP = "keep"
    FLIP = "flip"  # exported with chosen and rejected swapped
    DROP = "drop"


class Reason(StrEnum):
    """One reason code per decided pair (``release_rows.reason``)."""

    KEPT = "kept"  # no rule applied
    UNSCORED = "unscored"  # noise rules are on, but the pair has no score
    NOISE_FLIP = "noise_flip"  # in the policy's top-scored share, P(wrong) >= min_p_wrong_to_flip (and the judges agree)
    NOISE_DROP = "noise_drop"  # in that share and not flipped, P(wrong) >= min_p_wrong_to_drop
    HUMAN_OVERRIDE = "human_override"  # the annotators' majority verdict decided
    HUMAN_SPLIT = "human_split"  # annotators disagree with no majority
    TIE_EXCLUDED = "tie_excluded"
    LABEL_CONFLICT = "label_conflict"
    JUDGE_INCONSISTENT = "judge_inconsistent"
    LANGUAGE_FILTERED = "language_filtered"
    SOURCE_FILTERED = "source_filtered"
    AUGMENTATION_EXCLUDED = "augmentation_excluded"  # the policy leaves out this augmentation kind
    AUGMENTATION_LEAK = "augmentation_leak"  # a re-paired augmentation whose borrowed prompt falls in another split than its parent


class RouteReason(StrEnum):
    """Why the routing policy sent a pair to annotators (``annotation_tasks.route_reason``)."""

    AUDIT = "audit"  # the uniform random sample: measures label and judge accuracy without selection bias
    LIKELY_WRONG = "likely_wrong"  # a high fused P(label wrong): a human verdict confirms a flip or a drop
    UNCERTAIN = "uncertain"  # P(wrong) near the release's drop threshold: a verdict moves the decision most
    JUDGE_CONTRADICTS = "judge_contradicts"  # a position-consistent judge verdict against the stored label
    JUDGE_INCONSISTENT = "judge_inconsistent"  # the judge's verdict changed when the sides were swapped


class BatchState(StrEnum):
    """Where a pushed batch stands (view ``annotation_batch_state``)."""

    PUSHED = "pushed"  # no task annotated yet
    PARTLY_DONE = "partly done"  # some tasks have annotations, not all have as many as the batch asked for
    DONE = "done"  # every task has them


class RubricItemType(StrEnum):
    """The two kinds of rubric item (OpenRubrics)."""

    HARD_RULE = "hard_rule"  # an explicit constraint taken from the prompt: pass or fail
    PRINCIPLE = "principle"  # an implicit quality that separates better responses from worse


class RubricStatus(StrEnum):
    """What the consistency filter made of one generated rubric (``rubrics.status``)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RubricReason(StrEnum):
    """Why a rubric attempt was rejected (``rubrics.reason``)."""

    CURRENT_PAIR_WRONG = "current_pair_wrong"  # the rubric-conditioned judge did not reproduce its own pair's label in both orders
    LOW_ACCURACY = "low_accuracy"  # it reproduced fewer than min_accuracy of the prompt's labels
    UNPARSEABLE = "unparseable"  # the writer's answer held no readable rubric
    NO_ITEMS = "no_items"  # the answer parsed, but listed no hard rule and no principle
    REQUEST_FAILED = "request_failed"  # the generation request failed
    NOT_CHECKED = "not_checked"  # a limit stopped the checks before the judge answered


class PrincipleStatus(StrEnum):
    """Whether an extracted binary principle is kept (``principles.status``)."""

    KEPT = "kept"
    DROPPED = "dropped"


class PrincipleReason(StrEnum):
    """Why an extracted principle was dropped (``principles.reason``)."""

    SPAN_NOT_FOUND = "span_not_found"  # its evidence span is not in the feedback text
    NOT_BINARY = "not_binary"  # it is not a yes/no question, or a response's answer is not yes or no
    NO_CONTRAST = "no_contrast"  # both responses answer it the same way: it says nothing about the preference
    UNPARSEABLE = "unparseable"  # the extractor's answer could not be read


class CausalAttribute(StrEnum):
    """The causal attributes a causal augmentation degrades (Crome)."""

    FACTUALITY = "factuality"
    RELEVANCE = "relevance"
    COMPLETENESS = "completeness"
    INSTRUCTION_FOLLOWING = "instruction_following"
    SAFETY = "safety"


class AugmentMethod(StrEnum):
    """How an augmentation candidate was made (``augmentations.method``)."""

    LLM = "llm"  # an LLM rewrite (causal degradation, neutral style change)
    RULES = "rules"  # a deterministic rewrite, no LLM
    REPAIR = "repair"  # neutral: the parent's two responses under an unrelated prompt
    MASTER_KEY = "master_key"  # adversarial: a non-answer as the rejected response


class AugmentStatus(StrEnum):
    """Whether a candidate became a pair (``augmentations.status``)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class AugmentReason(StrEnum):
    """Why a candidate was rejected (``augmentations.reason``)."""

    JUDGE_DISAGREES = "judge_disagrees"  # causal: the judge did not find the degraded response worse in both orders
    NOT_A_TIE = "not_a_tie"  # neutral: the judge did not call the rewrite a tie in both orders
    LOW_SIMILARITY = "low_similarity"  # neutral: the rewrite's embedding drifted below the threshold (its meaning changed)
    UNCHANGED = "unchanged"  # the rewrite is the original text
    UNPARSEABLE = "unparseable"  # the rewriter's answer held no rewrite
    REQUEST_FAILED = "request_failed"  # the rewrite or check request failed
    NOT_CHECKED = "not_checked"  # a limit stopped the check before the judge answered
    DUPLICATE = "duplicate"  # the candidate pair already exists
