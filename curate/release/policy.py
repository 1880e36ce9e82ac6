"""Release policies: the model, its YAML file, and the SQL that turns evidence into decisions.

A policy is data. It is validated here, stored in full with each release, and
compiled into one SQL query over the warehouse as of a snapshot: an ordered
list of rules, the first matching rule deciding keep, flip or drop and giving
the one reason code. Evidence tables a snapshot lacks (``annotations`` before
that stage exists) read as empty, so the same query works at any snapshot and
re-running it at the release's snapshot gives the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curate import assets, ids
from curate.config import read_yaml
from curate.errors import ConfigError
from curate.warehouse import relations
from schemas import CONFLICTS, PAIRS
from schemas.judge import JUDGE_PAIR_VERDICTS
from schemas.noise import NOISE_SCORES_LATEST, RM_SCORES_LATEST
from schemas.vocab import Decision, NoiseMethod, PairKind, Reason, Verdict

__all__ = ["Decision", "Reason", "ReleasePolicy", "decide", "load_policy"]

ANNOTATIONS = "annotations"  # added by the annotation stage; read when the snapshot has it
DEFAULT_POLICY = "policies/default.yaml"
_NO_MAJORITY = "split"  # the human verdict of a pair whose annotators' top verdicts are tied
_VERDICTS = ", ".join(f"'{v}'" for v in Verdict)


class ReleasePolicy(BaseModel):
    """What a release keeps, flips and drops, and how it splits. Defaults = ``curate/policies/default.yaml``."""

    model_config = ConfigDict(extra="forbid")

    noise_method: str = Field(NoiseMethod.FUSED.value, description="noise_scores.method the thresholds read (higher = more likely mislabeled)")
    min_noise_to_flip: float | None = Field(0.9, description="flip the label at or above this noise score; null: never")
    min_noise_to_drop: float | None = Field(0.7, description="drop the pair at or above this noise score; null: never")
    if_unscored: Literal[Decision.KEEP, Decision.DROP] = Field(Decision.KEEP, description="decision for a pair without a noise score")
    human_override: bool = Field(True, description="annotators' majority verdicts decide over every automatic rule")
    include_ties: bool = Field(False, description="keep pairs labeled as ties (exported with margin 0)")
    include_augmentations: bool = Field(True, description="keep pairs made by augmentation (pairs.kind <> 'original')")
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
    splits: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.9, "validation": 0.05, "test": 0.05},
        description="split name -> share of prompts; shares sum to 1",
    )
    seed: int = Field(0, description="seed of the prompt -> split hash")
    license: str | None = Field(None, description="dataset license (Hub id) written on the card; publish refuses without one")

    @model_validator(mode="after")
    def _check(self) -> ReleasePolicy:
        flip, drop = self.min_noise_to_flip, self.min_noise_to_drop
        if flip is not None and drop is not None and flip < drop:
            raise ValueError(f"min_noise_to_flip ({flip}) must be >= min_noise_to_drop ({drop}): flips are the surer cases")
        if not self.splits or any(v < 0 for v in self.splits.values()) or abs(sum(self.splits.values()) - 1) > 1e-9:
            raise ValueError(f"split shares must be non-negative and sum to 1, got {self.splits}")
        return self

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
    (an Arrow table) is exactly the release's ``release_rows`` minus run_id.
    """
    present = relations(con)
    params: dict[str, object] = {"name": name}
    rules = _rules(policy, params)
    decision = "CASE " + " ".join(f"WHEN {cond} THEN '{d}'" for cond, d, _ in rules) + f" ELSE '{Decision.KEEP}' END"
    reason = "CASE " + " ".join(f"WHEN {cond} THEN '{r}'" for cond, _, r in rules) + f" ELSE '{Reason.KEPT}' END"
    released = f"decision <> '{Decision.DROP}'"
    sql = f"""
    WITH noise AS ({_noise_sql(policy, present, params)}),
         ensemble AS ({_ensemble_sql(policy, present, params)}),
         judge AS ({_judge_sql(present)}),
         human AS ({_human_sql(policy, present)}),
         conflicted AS ({_conflicted_sql(present)}),
         decided AS (
            SELECT p.pair_id, p.prompt_id, coalesce(parent.prompt_id, p.prompt_id) AS split_key,
                   p.tie, p.strength, n.score, e.margin AS rm_margin, h.verdict AS human,
                   {decision} AS decision, {reason} AS reason
            FROM {PAIRS.name} p
            LEFT JOIN {PAIRS.name} parent ON parent.pair_id = p.parent_pair_id
            LEFT JOIN noise n ON n.pair_id = p.pair_id
            LEFT JOIN ensemble e ON e.pair_id = p.pair_id
            LEFT JOIN judge j ON j.pair_id = p.pair_id
            LEFT JOIN human h ON h.pair_id = p.pair_id
            LEFT JOIN conflicted c ON c.pair_id = p.pair_id
         )
    SELECT $name AS release, pair_id, prompt_id, decision, reason,
           CASE WHEN {released} THEN {_split_sql(policy, params)} END AS split,
           CASE WHEN {released} THEN {_margin_sql(policy, params)} END AS margin,
           CASE WHEN {released} THEN {_weight_sql(policy)} END AS weight
    FROM decided
    ORDER BY pair_id
    """
    return con.execute(sql, params).to_arrow_table()


def _rules(policy: ReleasePolicy, params: dict) -> list[tuple[str, Decision, Reason]]:
    """(condition, decision, reason) in priority order; the first true condition decides."""
    rules: list[tuple[str, Decision, Reason]] = []
    if policy.sources is not None:
        params["sources"] = policy.sources
        rules.append(("NOT list_contains($sources::VARCHAR[], p.source)", Decision.DROP, Reason.SOURCE_FILTERED))
    if policy.exclude_sources:
        params["exclude_sources"] = policy.exclude_sources
        rules.append(("list_contains($exclude_sources::VARCHAR[], p.source)", Decision.DROP, Reason.SOURCE_FILTERED))
    if policy.languages is not None:
        params["languages"] = policy.languages
        rules.append(("NOT list_contains($languages::VARCHAR[], p.language)", Decision.DROP, Reason.LANGUAGE_FILTERED))
    if not policy.include_augmentations:
        rules.append((f"coalesce(p.kind, '{PairKind.ORIGINAL}') <> '{PairKind.ORIGINAL}'", Decision.DROP, Reason.AUGMENTATION_EXCLUDED))
    if policy.human_override:
        rules += [
            (f"h.verdict = '{Verdict.CHOSEN}'", Decision.KEEP, Reason.HUMAN_OVERRIDE),
            (f"h.verdict = '{Verdict.REJECTED}'", Decision.FLIP, Reason.HUMAN_OVERRIDE),
            (f"h.verdict = '{Verdict.TIE}'", Decision.DROP, Reason.HUMAN_OVERRIDE),
            (f"h.verdict = '{_NO_MAJORITY}'", Decision.DROP, Reason.HUMAN_SPLIT),
        ]
    if policy.include_ties:
        rules.append(("p.tie", Decision.KEEP, Reason.KEPT))  # no noise rule applies to a pair without a preference
    else:
        rules.append(("p.tie", Decision.DROP, Reason.TIE_EXCLUDED))
    if not policy.include_conflicted:
        rules.append(("c.pair_id IS NOT NULL", Decision.DROP, Reason.LABEL_CONFLICT))
    if policy.min_judge_consistency is not None:
        params["min_judge_consistency"] = policy.min_judge_consistency
        rules.append(("j.consistency < $min_judge_consistency", Decision.DROP, Reason.JUDGE_INCONSISTENT))
    if policy.min_noise_to_flip is not None:
        params["min_noise_to_flip"] = policy.min_noise_to_flip
        rules.append(("n.score >= $min_noise_to_flip", Decision.FLIP, Reason.NOISE_FLIP))
    if policy.min_noise_to_drop is not None:
        params["min_noise_to_drop"] = policy.min_noise_to_drop
        rules.append(("n.score >= $min_noise_to_drop", Decision.DROP, Reason.NOISE_DROP))
    if policy.min_noise_to_flip is not None or policy.min_noise_to_drop is not None:
        rules.append(("n.score IS NULL", Decision(policy.if_unscored), Reason.UNSCORED))
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


def _judge_sql(present: set[str]) -> str:
    """Per pair, the share of its judge versions (judge, template, attribute) judged in both orders whose two
    verdicts agree, from the judge stage's ``judge_pair_verdicts`` view."""
    if JUDGE_PAIR_VERDICTS not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::DOUBLE AS consistency")
    return (
        f"SELECT pair_id, avg(consistent::INTEGER)::DOUBLE AS consistency FROM {JUDGE_PAIR_VERDICTS} "
        "WHERE both_orders GROUP BY pair_id"
    )


def _human_sql(policy: ReleasePolicy, present: set[str]) -> str:
    """The annotators' majority verdict per pair, or 'split' when the top verdicts are tied."""
    if not policy.human_override or ANNOTATIONS not in present:
        return _empty("NULL::VARCHAR AS pair_id, NULL::VARCHAR AS verdict")
    return (
        f"SELECT pair_id, CASE WHEN count(*) = 1 THEN any_value(verdict) ELSE '{_NO_MAJORITY}' END AS verdict FROM ("
        f"  SELECT pair_id, verdict, rank() OVER (PARTITION BY pair_id ORDER BY count(DISTINCT annotator) DESC) AS r"
        f"  FROM {ANNOTATIONS} WHERE verdict IN ({_VERDICTS}) GROUP BY pair_id, verdict"
        f") WHERE r = 1 GROUP BY pair_id"
    )


def _conflicted_sql(present: set[str]) -> str:
    if CONFLICTS.name not in present:
        return _empty("NULL::VARCHAR AS pair_id")
    return f"SELECT DISTINCT pair_id FROM {CONFLICTS.name}"


def _split_sql(policy: ReleasePolicy, params: dict) -> str:
    """A split from the prompt's hash: the first 52 bits of md5("{seed}:{prompt_id}") as a number in [0, 1), cut by
    cumulative shares (``int(md5(...).hexdigest()[:13], 16) / 2**52`` in Python gives the same number).

    Splits are taken in name order, so the policy's key order (which its hash ignores) cannot change them.
    An augmentation follows its parent's prompt, so a rewritten prompt cannot leak its family across splits."""
    unit = "(('0x' || md5($seed || ':' || split_key)[1:13])::BIGINT / 4503599627370496.0)"
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


def _weight_sql(policy: ReleasePolicy) -> str:
    """Confidence in the exported label: 1 - score when kept, score when flipped; 1 without a score or by a human."""
    if policy.weight_source == "none":
        return "NULL::DOUBLE"
    return (
        "CASE WHEN score IS NULL OR human IS NOT NULL THEN 1.0 "
        f"WHEN decision = '{Decision.FLIP}' THEN least(greatest(score, 0.0), 1.0) ELSE least(greatest(1.0 - score, 0.0), 1.0) END"
    )
