"""Warehouses with a real release in them, for the card, publish, report and train-rm tests.

Pairs go in through the real ingest; evidence (noise scores, judge verdicts) is appended to
its tables the way the scoring stages write it, so the real default release policy flips and
drops planted pairs; the release is made by ``curate.release.run``.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_ingest, write_jsonl

from curate import release
from curate.release import ReleaseConfig
from curate.stage import utcnow
from curate.warehouse import Warehouse
from schemas import JUDGMENTS, NOISE_SCORES

TOPICS = ["tea", "rivers", "chess", "bread", "owls", "glaciers", "violins", "comets", "bees", "lighthouses",
          "volcanoes", "maps", "clocks", "sails", "ferns", "kites", "salt", "copper", "tides", "moss"]


def preference_rows(n: int = 60, *, prefix: str = "") -> list[dict]:
    """``n`` conversational TRL rows on distinct prompts; chosen is the longer, more helpful answer."""
    rows = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        prompt = [{"role": "user", "content": f"{prefix}Question {i}: tell me one thing about {topic}."}]
        if i % 3 == 0:
            prompt = [{"role": "user", "content": f"{prefix}Hi, question {i} coming."},
                      {"role": "assistant", "content": "Sure, ask away."}, *prompt]
        chosen = f"Here is a fact about {topic}: it has been studied for centuries, and answer {i} explains why in detail."
        rejected = "No idea." if i % 2 else f"{topic}? Not sure."
        rows.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                     "rejected": [{"role": "assistant", "content": rejected}], "strength": 1 + i % 3, "language": "en"})
    return rows


def ingest_rows(wh: Warehouse, tmp: Path, rows: list[dict], name: str) -> None:
    run_ingest(wh, write_jsonl(tmp / f"{name}.jsonl", rows), source_name=name, detect_language=False)


def pair_ids(wh: Warehouse) -> list[str]:
    with wh.connect(read_only=True, views=False) as con:
        return [r[0] for r in con.execute("SELECT pair_id FROM pairs ORDER BY pair_id").fetchall()]


def add_noise(wh: Warehouse, scores: dict[str, float]) -> None:
    """Fused noise scores, as the noise stage writes them: with the run's noise rate, the mean posterior."""
    components = json.dumps({"noise_rate": sum(scores.values()) / len(scores)})
    rows = [{"pair_id": p, "method": "fused", "score": s, "components": components, "config_hash": "test",
             "run_id": "noise-test", "created_at": utcnow()} for p, s in scores.items()]
    with wh.transaction("noise-test", "test noise scores") as tx:
        tx.append(NOISE_SCORES, rows)


def add_judgments(wh: Warehouse, verdicts: dict[str, tuple[str, str]], judge: str = "127.0.0.1/smollm2-135m") -> None:
    """One ok verdict per presentation order: ``{pair_id: (verdict chosen-as-A, verdict chosen-as-B)}``."""
    rows = []
    for pair_id, orders in verdicts.items():
        for swapped, verdict in zip((False, True), orders):
            winner = {"chosen": "B" if swapped else "A", "rejected": "A" if swapped else "B", "tie": "tie"}[verdict]
            rows.append({"pair_id": pair_id, "judge": judge, "template": "pairwise", "template_hash": "a1b2c3d4e5f6",
                         "attribute": "overall", "swapped": swapped, "sample": 0, "winner": winner, "verdict": verdict,
                         "status": "ok", "parse_attempts": 1, "run_id": "judge-test", "judged_at": utcnow()})
    with wh.transaction("judge-test", "test judgments") as tx:
        tx.append(JUDGMENTS, rows)


LEAKY_ROWS = [
    {"prompt": "How do I reach support?", "chosen": "Write to help.desk@example.org and they answer within a day.",
     "rejected": "You cannot.", "language": "en"},
    {"prompt": "What is the office number?", "chosen": "Call (555) 123-4567 on weekdays.", "rejected": "No.", "language": "en"},
    {"prompt": "Show me a config example.", "chosen": "Set api_key: " + "sk-" + "abcdefghijklmnopqrstuvwxyz123456" + " in the file.",
     "rejected": "Ask someone else.", "language": "en"},
]
"""Responses holding an email, a phone number and an API key: the PII scan must find all three."""

_BUILT: dict[Path, tuple[Warehouse, dict[str, list[str]]]] = {}


def shared_releases(tmp_path_factory) -> tuple[Warehouse, dict[str, list[str]]]:
    """One warehouse per test session, built once, read by the card, publish, report and train-rm tests:

    - ``bare``: 60 pairs released before any evidence existed (every pair kept, reason unscored);
    - ``v1``: the same pairs after noise scores and judge verdicts landed (2 flipped: likely wrong, and the judge
      agrees; 3 dropped: likely wrong; all five within the run's estimated noise rate, the default share);
    - ``leaky``: made after 3 more pairs with an email, a phone number and an API key were ingested.

    Each release reads its own snapshot, so later writes never change an earlier release's figures.
    Tests must not write to it beyond new releases or rm_evals rows of their own.
    """
    base = tmp_path_factory.getbasetemp()
    if base not in _BUILT:
        tmp = tmp_path_factory.mktemp("releases")
        wh = Warehouse.init(tmp / "wh")
        ingest_rows(wh, tmp, preference_rows(60), "prefs")
        release.run(wh, ReleaseConfig(name="bare"))
        ids = pair_ids(wh)
        flips, drops = ids[:2], ids[2:5]
        add_noise(wh, {**{p: 0.95 for p in flips}, **{p: 0.8 for p in drops}, **{p: 0.1 for p in ids[5:]}})
        add_judgments(wh, {**{p: ("rejected", "rejected") for p in flips},
                           **{p: ("chosen", "chosen" if i % 4 else "rejected") for i, p in enumerate(ids[2:10])}})
        release.run(wh, ReleaseConfig(name="v1"))
        ingest_rows(wh, tmp, LEAKY_ROWS, "leaky")
        release.run(wh, ReleaseConfig(name="leaky"))
        _BUILT[base] = (wh, {"flip": flips, "drop": drops})
    return _BUILT[base]
