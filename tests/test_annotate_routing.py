"""The routing policy on a real warehouse: the audit sample, the targeted reasons taking turns, the cap,
never routing a pair twice, and the default policy on what a real noise run produces."""

from __future__ import annotations

from conftest import run_ingest, trl, write_jsonl
from release_builders import add_judgments, add_noise, pair_ids

from curate import embed, noise
from curate.annotate.config import RoutingPolicy
from curate.annotate.routing import route
from curate.noise.rm import RMConfig
from curate.stage import utcnow
from curate.warehouse import Warehouse
from schemas import ANNOTATION_TASKS
from schemas.vocab import RouteReason


def _warehouse(tmp_path, n: int = 40) -> Warehouse:
    wh = Warehouse.init(tmp_path / "wh")
    rows = [trl(prompt=f"Question {i} about {t}?", chosen=f"A careful answer about {t}, number {i}.",
                rejected=f"Go away ({t} {i}).") for i, t in enumerate(["tea", "owls", "maps", "salt"] * (n // 4))]
    run_ingest(wh, write_jsonl(tmp_path / "pairs.jsonl", rows), detect_language=False)
    return wh


def _route(wh: Warehouse, **policy):
    with wh.connect(read_only=True) as con:
        return route(con, RoutingPolicy(**policy))


def test_annotate_routing_without_evidence_fills_the_batch_with_the_audit_sample(tmp_path):
    wh = _warehouse(tmp_path)
    routes = _route(wh, limit=10)
    assert len(routes) == 10 and {r.reason for r in routes} == {RouteReason.AUDIT}
    assert [r.pair_id for r in routes] == [r.pair_id for r in _route(wh, limit=10)]  # seeded
    assert [r.pair_id for r in routes] != [r.pair_id for r in _route(wh, limit=10, seed=1)]


def test_annotate_routing_reasons_take_turns_after_the_audit_share(tmp_path):
    wh = _warehouse(tmp_path)
    ids = pair_ids(wh)
    # ten likely wrong (0.95 .. 0.86), ten uncertain (0.50 .. 0.59), the rest clearly right
    scores = {p: 0.05 for p in ids}
    scores.update({p: 0.95 - 0.01 * i for i, p in enumerate(ids[:10])})
    scores.update({p: 0.50 + 0.01 * i for i, p in enumerate(ids[10:20])})
    add_noise(wh, scores)
    add_judgments(wh, {ids[30]: ("rejected", "rejected"), ids[31]: ("chosen", "rejected")})
    routes = _route(wh, limit=10, audit_share=0.2, min_p_wrong=0.5)
    reasons = [r.reason for r in routes]
    assert reasons[:2] == [RouteReason.AUDIT, RouteReason.AUDIT]
    assert reasons.count(RouteReason.JUDGE_CONTRADICTS) == 1 and reasons.count(RouteReason.JUDGE_INCONSISTENT) == 1
    likely = [r for r in routes if r.reason == RouteReason.LIKELY_WRONG]
    assert [r.p_wrong for r in likely] == sorted((r.p_wrong for r in likely), reverse=True) and likely[0].p_wrong >= 0.9
    uncertain = [r for r in routes if r.reason == RouteReason.UNCERTAIN]
    assert uncertain and all(abs(r.p_wrong - 0.5) <= 0.25 for r in uncertain)
    assert len({r.pair_id for r in routes}) == 10


def test_annotate_routing_never_routes_a_pair_twice_unless_asked(tmp_path):
    wh = _warehouse(tmp_path, n=12)
    first = _route(wh, limit=8)
    with wh.transaction("annotate_push-test", "planted batch") as tx:
        tx.append(ANNOTATION_TASKS, [{"batch_id": "b1", "pair_id": r.pair_id, "task_id": i, "left_is_chosen": True,
                                      "route_reason": r.reason.value, "p_wrong": None, "run_id": "annotate_push-test",
                                      "created_at": utcnow()} for i, r in enumerate(first)])
    second = _route(wh, limit=8)
    assert len(second) == 4 and not {r.pair_id for r in second} & {r.pair_id for r in first}
    assert len(_route(wh, limit=8, reroute=True)) == 8


def test_annotate_routing_default_policy_on_a_real_noise_run(tmp_path):
    """The default policy on the fused scores a real noise run writes: a capped batch, an audit part,
    and targeted pairs whose P(wrong) is the highest or nearest the drop threshold."""
    wh = Warehouse.init(tmp_path / "wh")
    rows = []
    for i, topic in enumerate(["owls", "tea", "rain", "chess", "bread", "trains", "maps", "bees"] * 4):
        good, bad = f"A clear, friendly explanation of {topic} with an example ({i}).", f"No. Figure {topic} out yourself ({i})."
        chosen, rejected = (bad, good) if i % 4 == 0 else (good, bad)  # a quarter of the labels flipped
        rows.append(trl(prompt=f"Tell me about {topic} ({i})", chosen=chosen, rejected=rejected))
    run_ingest(wh, write_jsonl(tmp_path / "pairs.jsonl", rows), detect_language=False)
    cfg = noise.NoiseConfig(rm=RMConfig(members=2, epochs=30, folds=3))
    embed.run(wh, cfg.embedding)
    noise.run(wh, cfg)
    policy = RoutingPolicy()
    routes = _route(wh)
    assert len(routes) == min(policy.limit, len(rows))
    reasons = {r.reason for r in routes}
    assert RouteReason.AUDIT in reasons and reasons & {RouteReason.LIKELY_WRONG, RouteReason.UNCERTAIN}
    assert all(r.p_wrong is not None for r in routes)
    routes = _route(wh, limit=8)
    targeted = [r for r in routes if r.reason == RouteReason.LIKELY_WRONG]
    with wh.connect(read_only=True) as con:
        top = con.sql("SELECT max(score) FROM noise_scores_latest WHERE method = 'fused'").fetchone()[0]
    assert targeted and targeted[0].p_wrong == top
