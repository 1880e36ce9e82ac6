"""The annotation loop closed: a human batch goes into the next noise run as per-annotator sources and anchors, and
the default release decides by the annotators' majority, weighted by the quality that run estimated for each.

Real ingest, embed and noise stages on ``test_default_release``'s learnable file (a fifth of its labels swapped);
the batch is planted as a pull writes it (``annotation_tasks`` with their routing, ``annotations`` rows), with two
simulated annotators who judge every task of it: a careful one, right 95% of the time, and a careless one, right 60%.
"""

from __future__ import annotations

import json
import math
import random

import pytest
from conftest import query, run_ingest
from test_default_release import preference_file
from test_release import annotation, plant

from curate import embed, noise, release
from curate.release import ReleaseConfig
from curate.warehouse import Warehouse
from schemas import ANNOTATION_TASKS, ANNOTATIONS
from schemas.vocab import RouteReason

AUDIT, LIKELY_WRONG = 40, 40
ACCURACY = {"careful@example.org": 0.95, "careless@example.org": 0.6}
BATCH = "annotate-batch-1"


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """A warehouse through ingest, embed and noise; one batch (a uniform audit sample, then the top fused P(wrong))
    judged by both annotators; noise again; then the default release ``humans``."""
    tmp = tmp_path_factory.mktemp("loop")
    wh = Warehouse.init(tmp / "wh")
    source, flipped = preference_file(tmp / "prefs.jsonl", flipped_share=0.2)
    run_ingest(wh, source, detect_language=False)
    embed.run(wh, embed.EmbedConfig())
    noise.run(wh, noise.NoiseConfig())
    prompts = dict(query(wh, "SELECT pair_id, prompt[1].content FROM pairs"))
    wrong = {pair_id: prompt in flipped for pair_id, prompt in prompts.items()}
    rng = random.Random(7)
    audit = rng.sample(sorted(prompts), AUDIT)
    ranked = [p for p, in query(wh, "SELECT pair_id FROM noise_scores_latest WHERE method = 'fused' ORDER BY score DESC, pair_id")]
    likely = [p for p in ranked if p not in audit][:LIKELY_WRONG]
    tasks = [(p, RouteReason.AUDIT) for p in audit] + [(p, RouteReason.LIKELY_WRONG) for p in likely]
    plant(wh, ANNOTATION_TASKS, [{"batch_id": BATCH, "pair_id": p, "task_id": i, "left_is_chosen": i % 2 == 0,
                                  "route_reason": reason.value, "p_wrong": None, "run_id": BATCH, "created_at": None}
                                 for i, (p, reason) in enumerate(tasks)])
    said = {(who, p): (wrong[p] if rng.random() < accuracy else not wrong[p]) for who, accuracy in ACCURACY.items() for p, _ in tasks}
    rows = [annotation(p, who, "rejected" if says_wrong else "chosen", batch_id=BATCH) for (who, p), says_wrong in said.items()]
    plant(wh, ANNOTATIONS, rows)
    result = noise.run(wh, noise.NoiseConfig())
    release.run(wh, ReleaseConfig(name="humans"))
    return wh, result, said, [p for p, _ in tasks], wrong


def test_annotate_loop_each_annotator_is_a_source_with_its_own_estimated_quality(loop):
    wh, result, *_ = loop
    details = result.details
    reliabilities = details["reliabilities"]["fused"]
    careful, careless = reliabilities["human:careful@example.org"], reliabilities["human:careless@example.org"]
    print(f"estimated: careful {careful:.3f}, careless {careless:.3f}; anchors {details['anchors']}")
    assert careful > 0.85 and careless < 0.75 and careful > careless + 0.15
    assert details["human_pairs"] == AUDIT + LIKELY_WRONG and details["audit_pairs"] == AUDIT
    assert details["anchors"]["fused"]["verified_pairs"] == AUDIT + LIKELY_WRONG
    shown = dict(query(wh, "SELECT annotator, reliability FROM noise_reliabilities WHERE run_id = ? AND annotator LIKE 'human:%'",
                       [result.run_id]))
    assert shown == {name: pytest.approx(value, abs=1e-4) for name, value in reliabilities.items() if name.startswith("human:")}
    # the pooled human method stays the share of verdicts against the label
    pooled = json.loads(query(wh, "SELECT components FROM noise_scores_latest WHERE method = 'human' AND "
                                  "CAST(components->>'verdicts' AS DOUBLE) = 2 LIMIT 1")[0][0])
    assert set(pooled) == {"against", "verdicts"}


def test_annotate_loop_default_release_follows_the_careful_annotator(loop):
    wh, result, said, tasked, wrong = loop
    quality = result.details["reliabilities"]["fused"]
    weight = {who: max(math.log(quality[f"human:{who}"] / (1 - quality[f"human:{who}"])), 0.01) for who in ACCURACY}
    rows = {pair_id: (decision, reason, verdict, votes, agreement) for pair_id, decision, reason, verdict, votes, agreement in query(
        wh, "SELECT pair_id, decision, reason, human_verdict, human_votes, human_agreement FROM release_rows WHERE release = 'humans'")}
    disagreed = [p for p in tasked if said[("careful@example.org", p)] != said[("careless@example.org", p)]]
    assert len(disagreed) >= 10
    for pair_id in tasked:
        careful_says_wrong = said[("careful@example.org", pair_id)]
        decision, reason, verdict, votes, agreement = rows[pair_id]
        assert reason == "human_override" and votes == 2
        assert (decision, verdict) == (("flip", "rejected") if careful_says_wrong else ("keep", "chosen"))
        share = 1.0 if pair_id not in disagreed else weight["careful@example.org"] / sum(weight.values())
        assert agreement == pytest.approx(share, abs=1e-4)
    assert all(rows[p][2] is None for p in rows if p not in tasked)  # nobody looked: no human columns
    right = sum((rows[p][0] == "flip") == wrong[p] for p in tasked)
    print(f"human-decided pairs: {len(tasked)}, {len(disagreed)} where the annotators disagree; decision right on {right}")
    counts = release.get(wh, "humans").counts["humans"]
    assert counts["verified"] == len(tasked) and counts["against_label"] == sum(said[("careful@example.org", p)] for p in tasked)


def test_annotate_loop_card_and_report_show_what_people_did(loop, tmp_path):
    """The card and the HTML report of the release carry the human-verification counts and the audit estimate."""
    from curate.publish import card, report
    from curate.publish.facts import collect

    wh, _, _, tasked, _ = loop
    facts = collect(wh, "humans")
    page = report.write(wh, "humans", tmp_path / "report.html", facts=facts).read_text()
    assert 'id="humans"' in page and "verified by people" in page and "label_wrong_rate" in page
    text = card.render(facts, card.CardConfig())
    assert "## Human verification" in text and "verified by people" in text
