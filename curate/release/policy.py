"""Release policies: the model, its YAML file, and the SQL that turns evidence into decisions.

A policy is data. It is validated here, stored in full with each release, and
compiled into one SQL query over the warehouse as of a snapshot: an ordered
list of rules, the first matching rule deciding keep, flip or drop and giving
the one reason code. Evidence tables a snapshot lacks (``annotations`` before
that stage exists) read as empty, so the same query works at any snapshot and
re-running it at the release's snapshot gives the same rows.

Human labels win: the annotators' majority decides over every automatic rule,
each annotator's verdict weighted by the quality the latest noise run estimated
for them (``_human_sql``), and the rows keep what the humans and the judges said
(``release_rows.human_verdict`` ... ``human_against_judge``), so a pair where
people overruled the label or the judge stays visible.

The noise rules act without looking at truth: a probability bar alone would
fire on one dataset and never on another (a fused P(wrong) that rarely reaches
0.7 on real data), so they also take a share, by default the noise run's own
estimate of how many labels are wrong, and act on the top-scored pairs up to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curate import assets, ids
from curate.config import read_yaml
from curate.errors import ConfigError
from curate.warehouse import relations
from schemas import AUGMENTATIONS, CONFLICTS, PAIRS
from schemas.annotate import ANNOTATIONS_LATEST
from schemas.judge import JUDGE_PAIR_VERDICTS
from schemas.noise import ANNOTATOR_PREFIX, NOISE_RELIABILITIES, NOISE_SCORES_LATEST, RM_SCORES_LATEST
from schemas.vocab import AugmentStatus, Decision, NoiseMethod, PairKind, Reason, Verdict

__all__ = ["Decision", "Reason", "ReleasePolicy", "decide", "load_policy", "outcomes"]

DEFAULT_POLICY = "policies/default.yaml"
AUGMENTATION_WEIGHT = 0.05
"""A kept augmentation's default training weight, picked with ``benchmarks/augment.py`` (which reports the arms at
this weight and at full weight): at full weight the augmented rows outnumber the real pairs and cost the reward
model points of accuracy on them; at 0.1 all kinds together still cost more than half a point; at 0.05 they cut the
master-key false positives and the length bias and raise the accuracy on degraded responses while the accuracy on
the real pairs holds."""
_NO_MAJORITY = "split"  # the human verdict of a pair whose annotators' top verdicts are tied
_MIN_WEIGHT = 0.01  # an annotator the noise run found no better than a coin still counts, barely: a lone verdict still decides
_VERDICTS = ", ".join(f"'{v}'" for v in Verdict)
_RENAMED = {"min_noise_to_flip": "min_p_wrong_to_flip", "min_noise_to_drop": "min_p_wrong_to_drop"}


class ReleasePolicy(BaseModel):
    """What a release keeps, flips and drops, and how it splits. Defaults = ``curate/policies/default.yaml``."""

    model_config = ConfigDict(extra="forbid")

    noise_method: str = Field(NoiseMethod.FUSED.value, description="noise_scores.method the noise rules read: P(stated label is wrong)")
    min_p_wrong_to_flip: float | None = Field(0.9, ge=0, le=1, description="flip a pair within the share whose P(wrong) is at least "
                                              "this (and, with flip_requires_judge, the judges agree); null: never flip")
    flip_requires_judge: bool = Field(True, description="flip only where a majority of the pair's judge versions give a "
                                      "position-consistent 'rejected' verdict; false: P(wrong) alone")
    min_p_wrong_to_drop: float | None = Field(0.5, ge=0, le=1, description="drop a pair within the share (and not flipped) whose "
                                              "P(wrong) is at least this; null: never drop")
    max_drop_share: Literal["auto"] | float | None = Field(
        "auto", description="the noise rules flip or drop at most this share of the scored in-scope pairs, the top-scored first; "
                            "auto: the noise run's estimated wrong-label share (fused components noise_rate); null: no cap")
    if_unscored: Literal[Decision.KEEP, Decision.DROP] = Field(Decision.KEEP, description="decision for a pair without a noise score")
    human_override: bool = Field(True, description="annotators' majority verdicts decide over every automatic rule")
    human_weighting: Literal["quality", "equal"] = Field(
        "quality", description="how an annotator's verdict counts in the majority: quality, log(a / (1 - a)) of the accuracy a "
                               "the latest noise run estimated for them (at least 0.01; 1 when not estimated); equal: one each")
    include_ties: bool = Field(False, description="keep pairs labeled as ties (exported with margin 0)")
    include_augmentations: bool | list[Literal[PairKind.CAUSAL, PairKind.NEUTRAL, PairKind.ADVERSARIAL]] = Field(
        True, description="keep pairs made by augmentation (pairs.kind <> 'original'): true, false, or the kinds to keep "
                          "(causal, neutral, adversarial). Kept augmentations skip the tie and noise rules: their label was made and checked")
    include_conflicted: bool = Field(True, description="keep pairs whose label another source row contradicts")
    languages: list[str] | None = Field(None, description="keep only these language codes; null: all")
    sources: list[str] | None = Field(None, description="keep only these sources; null: all")
    exclude_sources: list[str] = Field(default_factory=list, description="sources to leave out")
    min_judge_consistency: float | None = Field(
        None, ge=0, le=1, description="drop judged pairs whose position-consistent verdict share is below this; null: off"
    )
    margin_source: Literal["strength", "ensemble", "none"] = Field(
        "strength", description="margin column from the stated strength, the RM ensemble mean margin, or none (0)"
    )
    margin_method: str = Field(NoiseMethod.ENSEMBLE.value, description="rm_scores.method read when margin_source is ensemble")
    margin_scale: float = Field(1.0, ge=0, description="multiplies the margin; negative margins are clipped to 0")
    weight_source: Literal["none", "noise"] = Field("none", description="per-row weight: none, or 1 - noise score (score when flipped)")
    augmentation_weight: float = Field(
        AUGMENTATION_WEIGHT, gt=0, le=1, description="training weight of a kept augmentation (exported in weight; originals 1, "
        "times the weight_source weight): augmented rows regularize the real pairs instead of outnumbering them")
    splits: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.9, "validation": 0.05, "test": 0.05},
        description="split name -> share of prompts; shares sum to 1",
    )
    seed: int = Field(0, description="seed of the prompt -> split hash")
    license: str | None = Field(None, description="dataset license (Hub id) written on the card; publish refuses without one")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: object) -> object:
        """An old policy file must fail, not silently fall back to the new defaults."""
        old = sorted(set(data) & _RENAMED.keys()) if isinstance(data, dict) else []
        if old:
            raise ValueError("; ".join(f"{name} was renamed {_RENAMED[name]}" for name in old) +
                             " (the noise rules also take max_drop_share now, default auto: see curate/policies/default.yaml)")
        return data

    @field_validator("max_drop_share", mode="before")
    @classmethod
    def _share(cls, value: object) -> object:
        if value is None or value == "auto" or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1):
            return value
        raise ValueError(f"max_drop_share must be 'auto', a number in [0, 1] or null, got {value!r}")

    @model_validator(mode="after")
    def _check(self) -> ReleasePolicy:
        flip, drop = self.min_p_wrong_to_flip, self.min_p_wrong_to_drop
        if flip is not None and drop is not None and flip < drop:
            raise ValueError(f"min_p_wrong_to_flip ({flip}) must be >= min_p_wrong_to_drop ({drop}): flips are the surer cases")
        if not self.splits or any(v < 0 for v in self.splits.values()) or abs(sum(self.splits.values()) - 1) > 1e-9:
            raise ValueError(f"split shares must be non-negative and sum to 1, got {self.splits}")
        return self

    @property
    def exports_weight(self) -> bool:
        """Whether the exports carry a ``weight`` column: a weight source, or augmentations weighed below 1."""
        return self.weight_source != "none" or self.augmentation_weight != 1

    @classmethod
    def from_stored(cls, stored: str) -> ReleasePolicy:
        """A policy as a release stored it, by any version of curate. A policy stored before the share rule
        named its thresholds ``min_noise_to_*`` and had no cap and no judge requirement, and one stored before
        annotators were weighted counted each annotator once, and one stored before augmentations were weighed exported
        no weight: it is read as exactly that, so re-making an old release still gives its rows."""
        data = json.loads(stored)
        if _RENAMED.keys() & data.keys():
            data = {_RENAMED.get(k, k): v for k, v in data.items()} | {"max_drop_share": None, "flip_requires_judge": False}
        data.setdefault("human_weighting", "equal")  # stored before annotators were weighted: one vote each
        data.setdefault("augmentation_weight", 1.0)  # stored before augmentations were weighed: no weight column
        return cls.model_validate(data)

    def canonical_json(self) -> str:
        """Key-sorted JSON: the stored form and the input of the hash (split order never matters, see ``_split_sql``)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        return ids.digest(self.canonical_json())


def load_policy(path: str | Path | None = None) -> ReleasePolicy:
    """A policy from YAML: a bare mapping of fields, or a pipeline config's ``release`` section; None: the default."""
    document = (assets.load_yaml(DEFAULT_POLICY) or {}) if path is None else read_yaml(path, "release policy")
    if isinstance(document.get("release"), dict):
        document = document["release"]
    try:
        return ReleasePolicy.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"invalid release policy: {exc}", path=path) from exc


def decide(con: duckdb.DuckDBPyConnection, policy: ReleasePolicy, name: str):
    """Every pair visible to ``con`` with its decision, reason, split, margin and weight, ordered by pair_id.

    ``con`` reads the release's snapshot, with the named views (judge verdicts come from one); the result
    (an Arrow table) is exactly the release's ``release_rows`` minus run_id: the decision columns, then what the
    humans said (weighted majority, annotators, agreement) and, on the pairs they verified, the judges' verdict.
    """
    present = relations(con)
    params: dict[str, object] = {"name": name}
    scope, noise_rules = _scope_rules(policy, params), _noise_rules(policy, params)
    rules = scope + noise_rules
    decision = "CASE " + " ".join(f"WHEN {cond} THEN '{d}'" for cond, d, _ in rules) + f" ELSE '{Decision.KEEP}' END"
    reason = "CASE " + " ".join(f"WHEN {cond} THEN '{r}'" for cond, _, r in rules) + f" ELSE '{Reason.KEPT}' END"
    reaches = "CASE " + " ".join(f"WHEN {cond} THEN false" for cond, _, _ in scope) + " ELSE true END"
    ranked = "reaches AND score IS NOT NULL"  # the pairs the share is of: scored, and left to the noise rules
    released = f"decision <> '{Decision.DROP}'"
    sql = f"""
    WITH noise AS ({_noise_sql(policy, present, params)}),
         noise_rate AS ({_noise_rate_sql(present)}),
         ensemble AS ({_ensemble_sql(policy, present, params)}),
         judge AS ({_judge_sql(present)}),
         human AS ({_human_sql(policy, present)}),
         conflicted AS ({_conflicted_sql(present)}),
         donors AS ({_donor_sql(present)}),
         joined AS (
            SELECT p.pair_id, p.prompt_id, coalesce(parent.prompt_id, p.prompt_id) AS split_key, d.donor_key, p.source, p.language,
                   p.kind, p.tie, p.strength, n.score, e.margin AS rm_margin, h.verdict AS human, h.votes AS human_votes,
                   h.agreement AS human_agreement, c.pair_id IS NOT NULL AS conflicted, j.consistency,
                   coalesce(j.against, false) AS judge_against, j.verdict AS judge_verdict
            FROM {PAIRS.name} p
            LEFT JOIN {PAIRS.name} parent ON parent.pair_id = p.parent_pair_id
            LEFT JOIN donors d ON d.pair_id = p.pair_id
            LEFT JOIN noise n ON n.pair_id = p.pair_id
            LEFT JOIN ensemble e ON e.pair_id = p.pair_id
            LEFT JOIN judge j ON j.pair_id = p.pair_id
            LEFT JOIN human h ON h.pair_id = p.pair_id
            LEFT JOIN conflicted c ON c.pair_id = p.pair_id
         ),
         reached AS (SELECT *, {reaches} AS reaches FROM joined),
         ranked AS (
            SELECT *,
                   CASE WHEN {ranked} THEN row_number() OVER (PARTITION BY {ranked} ORDER BY score DESC, pair_id) END AS noise_rank,
                   count(*) FILTER ({ranked}) OVER () AS noise_pairs,
                   coalesce((SELECT rate FROM noise_rate), avg(score) FILTER ({ranked}) OVER ()) AS estimated_rate
            FROM reached
         ),
         decided AS (SELECT *, {decision} AS decision, {reason} AS reason FROM ranked)
    SELECT $name AS release, pair_id, prompt_id, decision, reason,
           CASE WHEN {released} THEN {_split_sql(policy, params)} END AS split,
           CASE WHEN {released} THEN {_margin_sql(policy, params)} END AS margin,
           CASE WHEN {released} THEN {_weight_sql(policy, params)} END AS weight,
           human AS human_verdict, human_votes, human_agreement,
           CASE WHEN human IS NOT NULL THEN judge_verdict END AS judge_verdict,
           CASE WHEN human <> '{_NO_MAJORITY}' AND judge_verdict IS NOT NULL THEN human <> judge_verdict END AS human_against_judge
    FROM decided
    ORDER BY pair_id
    """
    return con.execute(sql, params).to_arrow_table()


def outcomes(con: duckdb.DuckDBPyConnection, decisions: str, noise_method: str) -> list[tuple]:
    """What each rule did, by the evidence ``con`` sees: per (decision, reason) of relation ``decisions``
    (pair_id, decision, reason), the pairs, how many have a fused score, the estimated precision and the mean
    score of ``noise_method``, ordered by decision, pairs descending, reason.

    The estimated precision is the share of the rule's pairs whose decision about the stated label is expected to
    be right, from the fused P(wrong): its mean for a drop or a flip, 1 - its mean for a keep. Scope filters (source,
    language, ties) make no claim about the label; for them it only says how noisy the pairs they filtered were."""
    params: dict[str, object] = {}
    if NOISE_SCORES_LATEST in relations(con):
        params["noise_method"] = noise_method
        p_wrong = f"SELECT pair_id, score FROM {NOISE_SCORES_LATEST} WHERE method = '{NoiseMethod.FUSED}'"
        score = f"SELECT pair_id, score FROM {NOISE_SCORES_LATEST} WHERE method = $noise_method"
    else:
        p_wrong = score = _empty("NULL::VARCHAR AS pair_id, NULL::DOUBLE AS score")
    sql = f"""
    SELECT d.decision, d.reason, count(*) AS pairs, count(w.score) AS scored,
           round(CASE WHEN d.decision = '{Decision.KEEP}' THEN 1 - avg(w.score) ELSE avg(w.score) END, 4) AS est_precision,
           round(avg(s.score), 4) AS mean_score
    FROM {decisions} d LEFT JOIN ({p_wrong}) w USING (pair_id) LEFT JOIN ({score}) s USING (pair_id)
    GROUP BY d.decision, d.reason ORDER BY d.decision, pairs DESC, d.reason"""
    return con.execute(sql, params).fetchall()


def _scope_rules(policy: ReleasePolicy, params: dict) -> list[tuple[str, Decision, Reason]]:
    """(condition, decision, reason) in priority order, before the noise rules: scope, humans, ties, conflicts,
    judge consistency. A pair none of them decides reaches the noise rules and counts in their share."""
    rules: list[tuple[str, Decision, Reason]] = []
    if policy.sources is not None:
        params["sources"] = policy.sources
        rules.append(("NOT list_contains($sources::VARCHAR[], source)", Decision.DROP, Reason.SOURCE_FILTERED))
    if policy.exclude_sources:
        params["exclude_sources"] = policy.exclude_sources
        rules.append(("list_contains($exclude_sources::VARCHAR[], source)", Decision.DROP, Reason.SOURCE_FILTERED))
    if policy.languages is not None:
        params["languages"] = policy.languages
        rules.append(("NOT list_contains($languages::VARCHAR[], language)", Decision.DROP, Reason.LANGUAGE_FILTERED))
    augmented = f"coalesce(kind, '{PairKind.ORIGINAL}') <> '{PairKind.ORIGINAL}'"
    if policy.include_augmentations is not True:
        params["augmentation_kinds"] = [str(k) for k in policy.include_augmentations or []]
        rules.append((f"{augmented} AND NOT list_contains($augmentation_kinds::VARCHAR[], kind)", Decision.DROP,
                      Reason.AUGMENTATION_EXCLUDED))
    rules.append((f"donor_key IS NOT NULL AND {_split_sql(policy, params, 'donor_key')} <> {_split_sql(policy, params)}",
                  Decision.DROP, Reason.AUGMENTATION_LEAK))
    if policy.human_override:
        rules += [
            (f"human = '{Verdict.CHOSEN}'", Decision.KEEP, Reason.HUMAN_OVERRIDE),
            (f"human = '{Verdict.REJECTED}'", Decision.FLIP, Reason.HUMAN_OVERRIDE),
            (f"human = '{Verdict.TIE}'", Decision.DROP, Reason.HUMAN_OVERRIDE),
            (f"human = '{_NO_MAJORITY}'", Decision.DROP, Reason.HUMAN_SPLIT),
        ]
    rules.append((augmented, Decision.KEEP, Reason.KEPT))  # made and checked at augment time: no tie or noise rule applies
    if policy.include_ties:
        rules.append(("tie", Decision.KEEP, Reason.KEPT))  # no noise rule applies to a pair without a preference
    else:
        rules.append(("tie", Decision.DROP, Reason.TIE_EXCLUDED))
    if not policy.include_conflicted:
        rules.append(("conflicted", Decision.DROP, Reason.LABEL_CONFLICT))
    if policy.min_judge_consistency is not None:
        params["min_judge_consistency"] = policy.min_judge_consistency
        rules.append(("consistency < $min_judge_consistency", Decision.DROP, Reason.JUDGE_INCONSISTENT))
    return rules


def _noise_rules(policy: ReleasePolicy, params: dict) -> list[tuple[str, Decision, Reason]]:
    """The flip rule, the drop rule and the unscored rule, over ``ranked``'s columns: a pair's rank by score among
    the pairs that reach them (``noise_rank``, 1 = most likely wrong, ties by pair_id), their number and the
    estimated wrong-label share. Both rules act only within the share: rank <= floor(share x pairs)."""
    flip, drop, share = policy.min_p_wrong_to_flip, policy.min_p_wrong_to_drop, policy.max_drop_share
    if flip is None and drop is None:
        return []
    if share is None:
        within = "true"
    else:
        if share != "auto":
            params["max_drop_share"] = float(share)
        rate = "estimated_rate" if share == "auto" else "$max_drop_share"
        within = f"noise_rank <= floor(round({rate} * noise_pairs, 9))"  # rounded first: 0.4 (an average) x 10 is 4
    rules: list[tuple[str, Decision, Reason]] = []
    if flip is not None:
        params["min_p_wrong_to_flip"] = flip
        agreed = " AND judge_against" if policy.flip_requires_judge else ""
        rules.append((f"{within} AND score >= $min_p_wrong_to_flip{agreed}", Decision.FLIP, Reason.NOISE_FLIP))
    if drop is not None:
        params["min_p_wrong_to_drop"] = drop
        rules.append((f"{within} AND score >= $min_p_wrong_to_drop", Decision.DROP, Reason.NOISE_DROP))
    rules.append(("score IS NULL", Decision(policy.if_unscored), Reason.UNSCORED))
    return rules


def _empty(columns: str) -> str:
    return f"SELECT {columns} WHERE false"


def _noise_sql(policy: ReleasePolicy, present: set[str], params: dict) -> str:
    """The score of the policy's method per pair, from the method's latest run (view ``noise_scores_latest``)."""
    if NOISE_SCORES_LATEST not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::DOUBLE AS score")
    params["noise_method"] = policy.noise_method
    return f"SELECT pair_id, score FROM {NOISE_SCORES_LATEST} WHERE method = $noise_method"


def _ensemble_sql(policy: ReleasePolicy, present: set[str], params: dict) -> str:
    """Mean margin over the members of the latest run of the margin method (view ``rm_scores_latest``), per pair."""
    if policy.margin_source != "ensemble" or RM_SCORES_LATEST not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::DOUBLE AS margin")
    params["margin_method"] = policy.margin_method
    return (
        f"SELECT pair_id, avg(margin) AS margin FROM {RM_SCORES_LATEST} "
        "WHERE method = $margin_method AND margin IS NOT NULL GROUP BY pair_id"
    )


def _noise_rate_sql(present: set[str]) -> str:
    """The estimated wrong-label share of the latest fused run (its rows' components ``noise_rate``: the EM's rate,
    the mean posterior); NULL without one, and ``max_drop_share: auto`` then takes the mean score in the share's pool."""
    if NOISE_SCORES_LATEST not in present:
        return "SELECT NULL::DOUBLE AS rate"
    return (f"SELECT avg(TRY_CAST(json_extract(components, '$.noise_rate') AS DOUBLE)) AS rate "
            f"FROM {NOISE_SCORES_LATEST} WHERE method = '{NoiseMethod.FUSED}'")


def _judge_sql(present: set[str]) -> str:
    """Per pair, from the judge stage's ``judge_pair_verdicts`` view: the share of its judge versions (judge, template,
    attribute) judged in both orders whose two verdicts agree, whether a strict majority of all its versions give a
    position-consistent verdict against the label (what a flip needs besides the score), and the verdict such a
    strict majority gives, if any (what a human verdict is compared with)."""
    if JUDGE_PAIR_VERDICTS not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::DOUBLE AS consistency, NULL::BOOLEAN AS against, NULL::VARCHAR AS verdict")
    majority = " ".join(f"WHEN count(*) FILTER (consistent AND verdict = '{v}') * 2 > count(*) THEN '{v}'" for v in Verdict)
    return (
        f"SELECT pair_id, avg(consistent::INTEGER) FILTER (both_orders)::DOUBLE AS consistency, "
        f"count(*) FILTER (consistent AND verdict = '{Verdict.REJECTED}') * 2 > count(*) AS against, "
        f"CASE {majority} END AS verdict "
        f"FROM {JUDGE_PAIR_VERDICTS} GROUP BY pair_id"
    )


def _human_sql(policy: ReleasePolicy, present: set[str]) -> str:
    """Per pair: the annotators' majority verdict, the annotators counted and the majority's share of their weight.

    Reads the latest version of every annotation (view ``annotations_latest``); an annotator counts once per verdict
    they gave the pair. With ``human_weighting: quality`` each annotator's verdict weighs ``log(a / (1 - a))`` of the
    accuracy ``a`` the latest noise run estimated for them (view ``noise_reliabilities``, annotator ``human:<name>``):
    the weight of a vote in the fused score's EM, so a careful annotator outvotes two careless ones. It is at least
    ``_MIN_WEIGHT`` (an annotator no better than a coin still decides a pair nobody else judged), and 1 for an
    annotator that run has not estimated. The majority is the verdict with the largest total weight; tied totals
    are ``split``."""
    if ANNOTATIONS_LATEST not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::VARCHAR AS verdict, NULL::INTEGER AS votes, NULL::DOUBLE AS agreement")
    quality = _empty("NULL::VARCHAR AS annotator, NULL::DOUBLE AS weight")
    if policy.human_weighting == "quality" and NOISE_RELIABILITIES in present:
        quality = (f"SELECT annotator, greatest(ln(reliability / (1 - reliability)), {_MIN_WEIGHT}) AS weight "
                   f"FROM {NOISE_RELIABILITIES} WHERE starts_with(annotator, '{ANNOTATOR_PREFIX}') AND reliability > 0 AND reliability < 1 "
                   f"AND run_id = (SELECT arg_max(run_id, finished_at) FROM {NOISE_RELIABILITIES})")
    return f"""
        WITH voted AS (
            SELECT DISTINCT pair_id, annotator, verdict FROM {ANNOTATIONS_LATEST} WHERE verdict IN ({_VERDICTS})
        ), quality AS ({quality}),
        totals AS (
            SELECT v.pair_id, v.verdict, sum(coalesce(q.weight, 1.0)) AS weight
            FROM voted v LEFT JOIN quality q ON q.annotator = '{ANNOTATOR_PREFIX}' || coalesce(v.annotator, '')
            GROUP BY ALL
        ), ranked AS (
            SELECT *, rank() OVER (PARTITION BY pair_id ORDER BY round(weight, 9) DESC) AS r, sum(weight) OVER (PARTITION BY pair_id) AS total
            FROM totals
        ), counted AS (SELECT pair_id, count(DISTINCT coalesce(annotator, ''))::INTEGER AS votes FROM voted GROUP BY pair_id)
        SELECT pair_id, CASE WHEN count(*) = 1 THEN any_value(verdict) ELSE '{_NO_MAJORITY}' END AS verdict,
               any_value(votes) AS votes, round(any_value(weight) / nullif(any_value(total), 0), 4) AS agreement
        FROM ranked JOIN counted USING (pair_id) WHERE r = 1 GROUP BY pair_id"""


def _conflicted_sql(present: set[str]) -> str:
    if CONFLICTS.name not in present:
        return _empty("NULL::VARCHAR AS pair_id")
    return f"SELECT DISTINCT pair_id FROM {CONFLICTS.name}"


def _donor_sql(present: set[str]) -> str:
    """Per re-paired augmentation (neutral ``repair``): the prompt id of the pair whose prompt it borrowed. Its
    split must be its parent's, or the borrowed prompt would be seen in training and tested on (``AUGMENTATION_LEAK``)."""
    if AUGMENTATIONS.name not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::VARCHAR AS donor_key")
    return (f"SELECT a.pair_id, any_value(d.prompt_id) AS donor_key FROM {AUGMENTATIONS.name} a "
            f"JOIN {PAIRS.name} d ON d.pair_id = a.donor_pair_id WHERE a.status = '{AugmentStatus.ACCEPTED}' GROUP BY a.pair_id")


def _split_sql(policy: ReleasePolicy, params: dict, key: str = "split_key") -> str:
    """A split from the prompt's hash: the first 52 bits of md5("{seed}:{prompt_id}") as a number in [0, 1), cut by
    cumulative shares (``int(md5(...).hexdigest()[:13], 16) / 2**52`` in Python gives the same number).

    Splits are taken in name order, so the policy's key order (which its hash ignores) cannot change them.
    An augmentation follows its parent's prompt (``split_key``), so a rewritten prompt cannot leak its family
    across splits; ``key`` names another prompt-id column to split the same way (a borrowed prompt's)."""
    unit = f"(('0x' || md5($seed || ':' || {key})[1:13])::BIGINT / 4503599627370496.0)"
    names = sorted(policy.splits)
    cases, total = [], 0.0
    for name in names[:-1]:
        total += policy.splits[name]
        cases.append(f"WHEN {unit} < {total!r} THEN '{name}'")
    if not cases:
        return f"'{names[0]}'"
    params["seed"] = str(policy.seed)
    return f"CASE {' '.join(cases)} ELSE '{names[-1]}' END"


def _margin_sql(policy: ReleasePolicy, params: dict) -> str:
    """The margin as exported: oriented by the decision, clipped at 0, scaled; 0 for ties and without evidence."""
    params["margin_scale"] = policy.margin_scale
    if policy.margin_source == "strength":
        # a stated strength belongs to the stated label: a flipped pair has none
        oriented = f"CASE WHEN decision = '{Decision.KEEP}' THEN strength ELSE 0 END"
    elif policy.margin_source == "ensemble":
        oriented = f"CASE WHEN decision = '{Decision.FLIP}' THEN -rm_margin ELSE rm_margin END"
    else:
        oriented = "0"
    return f"CASE WHEN coalesce(tie, false) THEN 0.0 ELSE greatest(coalesce(({oriented})::DOUBLE, 0.0), 0.0) * $margin_scale END"


def _weight_sql(policy: ReleasePolicy, params: dict) -> str:
    """The exported training weight: the confidence in the label (``weight_source: noise``: 1 - score when kept,
    score when flipped; 1 without a score or by a human), times ``augmentation_weight`` on an augmentation
    (whose label was made, so it has no score to weigh). NULL when neither applies (``exports_weight``)."""
    if not policy.exports_weight:
        return "NULL::DOUBLE"
    confidence = "1.0"
    if policy.weight_source == "noise":
        by_human = " OR human IS NOT NULL" if policy.human_override else ""
        confidence = (f"CASE WHEN score IS NULL{by_human} THEN 1.0 WHEN decision = '{Decision.FLIP}' "
                      "THEN least(greatest(score, 0.0), 1.0) ELSE least(greatest(1.0 - score, 0.0), 1.0) END")
    params["augmentation_weight"] = policy.augmentation_weight
    return (f"CASE WHEN coalesce(kind, '{PairKind.ORIGINAL}') <> '{PairKind.ORIGINAL}' THEN $augmentation_weight "
            f"ELSE {confidence} END")
