"""The routing policy: which pairs a batch sends to people, and why.

Human time is the scarce thing, so it goes where a verdict moves the release most, plus a random audit:

- ``audit``: a uniform random sample of every routable pair. It is the only part of a batch not chosen by
  the scores, so it alone measures how often the labels (and the judge) are wrong without selection bias
  (view ``annotation_audit``); it also fills a batch when there is no evidence to target yet;
- ``likely_wrong``: the highest fused P(wrong): a verdict confirms (or stops) a flip or a drop;
- ``uncertain``: P(wrong) nearest the release's drop threshold, where the decision could go either way;
- ``judge_contradicts``: a position-consistent judge verdict against the stored label;
- ``judge_inconsistent``: the judge changed its verdict when the sides were swapped.

The targeted reasons take turns, one pair each per round, so no single signal fills a batch. A pair an
earlier batch already sent is never routed again unless the policy says ``reroute``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import duckdb

from curate.annotate.config import RoutingPolicy
from curate.warehouse import relations
from schemas import ANNOTATION_TASKS, PAIRS
from schemas.judge import JUDGE_PAIR_VERDICTS
from schemas.noise import NOISE_SCORES_LATEST
from schemas.vocab import NoiseMethod, PairKind, RouteReason, Verdict


@dataclass(frozen=True)
class Route:
    pair_id: str
    reason: RouteReason
    p_wrong: float | None


def route(con: duckdb.DuckDBPyConnection, policy: RoutingPolicy) -> list[Route]:
    """The pairs of one batch, in the order they were picked (audit sample first)."""
    candidates = _candidates(con, policy)
    if not candidates:
        return []
    audit_target = math.ceil(policy.limit * policy.audit_share)
    audit = _audit_order(candidates, policy.seed)
    picked: dict[str, Route] = {}
    for pair_id in audit[:audit_target]:
        picked[pair_id] = Route(pair_id, RouteReason.AUDIT, candidates[pair_id]["p_wrong"])
    queues = {RouteReason(reason): iter(_targeted(candidates, reason, policy)) for reason in policy.reasons}
    while len(picked) < policy.limit and queues:
        for reason, queue in list(queues.items()):
            pair_id = next((p for p in queue if p not in picked), None)
            if pair_id is None:
                del queues[reason]
                continue
            picked[pair_id] = Route(pair_id, reason, candidates[pair_id]["p_wrong"])
            if len(picked) == policy.limit:
                break
    for pair_id in audit[audit_target:]:  # nothing left to target: the rest of the batch is audit too
        if len(picked) == policy.limit:
            break
        picked.setdefault(pair_id, Route(pair_id, RouteReason.AUDIT, candidates[pair_id]["p_wrong"]))
    return list(picked.values())


def _targeted(candidates: dict[str, dict], reason: str, policy: RoutingPolicy) -> list[str]:
    """One reason's pairs, best first."""
    rows = candidates.items()
    if reason == RouteReason.LIKELY_WRONG:
        floor = policy.min_p_wrong or 0.0
        chosen = sorted((p for p, c in rows if c["p_wrong"] is not None and c["p_wrong"] >= floor),
                        key=lambda p: (-candidates[p]["p_wrong"], p))
    elif reason == RouteReason.UNCERTAIN:
        distance = {p: abs(c["p_wrong"] - policy.uncertain_center) for p, c in rows if c["p_wrong"] is not None}
        chosen = sorted((p for p, d in distance.items() if d <= policy.max_uncertain_distance), key=lambda p: (distance[p], p))
    else:  # a judge flag: contradicts or inconsistent, the likelier wrong first
        flag = "contradicts" if reason == RouteReason.JUDGE_CONTRADICTS else "inconsistent"
        chosen = sorted((p for p, c in rows if c[flag]), key=lambda p: (-(candidates[p]["p_wrong"] or 0), p))
    return chosen


def _audit_order(candidates: dict[str, dict], seed: int) -> list[str]:
    """Every candidate in a seeded random order (a hash of seed and pair id): the audit sample's draw."""
    return sorted(candidates, key=lambda p: hashlib.sha256(f"audit:{seed}:{p}".encode()).digest())


def _candidates(con: duckdb.DuckDBPyConnection, policy: RoutingPolicy) -> dict[str, dict]:
    """pair_id -> its fused P(wrong) and judge flags, for the original pairs the policy may route."""
    present = relations(con)
    fused = (f"SELECT pair_id, score AS p_wrong FROM {NOISE_SCORES_LATEST} WHERE method = '{NoiseMethod.FUSED}'"
             if NOISE_SCORES_LATEST in present else "SELECT NULL::VARCHAR AS pair_id, NULL::DOUBLE AS p_wrong LIMIT 0")
    judge = (f"SELECT pair_id, bool_or(consistent AND verdict = '{Verdict.REJECTED}') AS contradicts, "
             f"bool_or(both_orders AND NOT consistent) AS inconsistent FROM {JUDGE_PAIR_VERDICTS} GROUP BY pair_id"
             if JUDGE_PAIR_VERDICTS in present else
             "SELECT NULL::VARCHAR AS pair_id, NULL::BOOLEAN AS contradicts, NULL::BOOLEAN AS inconsistent LIMIT 0")
    conditions = [f"coalesce(p.kind, '{PairKind.ORIGINAL}') = '{PairKind.ORIGINAL}'"]
    params: list = []
    if not policy.include_ties:
        conditions.append("NOT coalesce(p.tie, false)")
    if policy.sources:
        conditions.append("p.source IN (SELECT unnest(?::VARCHAR[]))")
        params.append(policy.sources)
    if not policy.reroute:
        conditions.append(f"p.pair_id NOT IN (SELECT pair_id FROM {ANNOTATION_TASKS.name})")
    rows = con.execute(
        f"""WITH fused AS ({fused}), judge AS ({judge})
            SELECT p.pair_id, f.p_wrong, coalesce(j.contradicts, false), coalesce(j.inconsistent, false)
            FROM {PAIRS.name} p LEFT JOIN fused f USING (pair_id) LEFT JOIN judge j USING (pair_id)
            WHERE {' AND '.join(conditions)}""", params).fetchall()
    return {pair_id: {"p_wrong": p_wrong, "contradicts": contradicts, "inconsistent": inconsistent}
            for pair_id, p_wrong, contradicts, inconsistent in rows}


def reasons_count(routes: list[Route]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in routes:
        counts[r.reason.value] = counts.get(r.reason.value, 0) + 1
    return counts

