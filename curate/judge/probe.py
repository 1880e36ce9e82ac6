"""The master-keys probe: how often does the judge prefer a non-answer to a real response?

"One Token to Fool LLM-as-a-Judge" (Zhao et al., 2025) showed that judges
reward non-answers such as ":" or "Thought process:". This probe takes N real
responses from the warehouse (the chosen response of the first N pairs by
pair_id) and pits each against every key in ``assets/master_keys.yaml``,
both orders, through the same prompt template, client and cache as
``curate judge``. A verdict for the key is a false positive.

Probe rows go to ``judgments`` like any verdict, so they are evidence with
the same lineage, but marked: ``template`` is ``probe-master-keys/<template>``,
``probe_key`` holds the key, and ``pair_id`` is a synthetic id (a hash of the
probe name, the prompt, the response and the key) that matches no stored
pair. The judge quality views leave them out; ``judge_probe`` and
``judge_probe_summary`` report them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from curate import assets, ids
from curate.errors import ConfigError
from curate.judge.config import JudgeConfig
from curate.judge.pairwise import Item, Progress, execute
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import Transaction, Warehouse
from schemas import JUDGMENTS, PAIRS
from schemas.vocab import JudgmentStatus, Verdict

STAGE = "judge-probe"
PROBE = "master-keys"
DEFAULT_PAIRS = 20


@dataclass(frozen=True)
class ProbeResult:
    """The probe run, and its false-positive rates: one row per key and the overall row (key ``*``)."""

    result: StageResult
    judge: str
    rates: list[dict]

    @property
    def overall(self) -> dict:
        return next(r for r in self.rates if r["key"] == "*")


@cache
def master_keys() -> list[dict]:
    """The packaged non-answers: ``[{"key": ":", "language": "symbol"}, ...]``."""
    return assets.load_yaml("assets/master_keys.yaml")["keys"]


def run(wh: Warehouse, cfg: JudgeConfig, progress: Progress | None = None) -> ProbeResult:
    """Judge N real responses against each master key, both orders; rows in ``judgments``, rates returned.

    The judge's stage contract under its own stage name: one snapshot with the ``runs`` row, whose input
    is ``pairs`` (the ``judgments`` read to skip finished probes are the probe's own output)."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=(PAIRS,))
    template = cfg.judge_template()
    keys = _keys(cfg.probe_keys)
    items = _items(wh, cfg.limit or DEFAULT_PAIRS, keys)
    rows, counts = execute(wh, cfg, items, template=template, template_label=f"probe-{PROBE}/{template.name}",
                           run_id=stage_run.run_id, progress=progress)
    counts = replace(counts, details={**counts.details, "probe": PROBE})

    def write(tx: Transaction) -> Counts:
        tx.append(JUDGMENTS, rows)
        return counts

    result = stage_run.commit(wh, write, message=f"{STAGE} {len(rows)} judgments")
    judge = counts.details["judge"]
    return ProbeResult(result=result, judge=judge,
                       rates=_rates(wh, judge, template.hash, template.attribute, counts.details["settings_hash"], items))


def _keys(selected: list[str] | None) -> list[str]:
    known = [k["key"] for k in master_keys()]
    if selected is None:
        return known
    unknown = [k for k in selected if k not in known]
    if unknown:
        raise ConfigError(f"unknown master key(s) {unknown!r}; known: {known!r}")
    return list(selected)


def _items(wh: Warehouse, n: int, keys: list[str]) -> list[Item]:
    """Each of the first ``n`` pairs' chosen response (the real answer) against each key (as the rejected one)."""
    with wh.connect(read_only=True, views=False) as con:
        pairs = con.execute(
            f"SELECT prompt_id, prompt, chosen.content, chosen_hash FROM {PAIRS.name} WHERE NOT tie ORDER BY pair_id LIMIT ?",
            [n],
        ).fetchall()
    return [
        Item(pair_id=ids.digest("\x1f".join((PROBE, prompt_id, chosen_hash, ids.content_hash(key)))),
             prompt=[{"role": m["role"], "content": m["content"]} for m in prompt], chosen=chosen, rejected=key, probe_key=key)
        for prompt_id, prompt, chosen, chosen_hash in pairs
        for key in keys
    ]


def _rates(wh: Warehouse, judge: str, template_hash: str, attribute: str, settings_hash: str, items: list[Item]) -> list[dict]:
    """False-positive rates over these probes (this run's rows or earlier ones for the same judge version, settings included)."""
    ok, key_won = f"'{JudgmentStatus.OK}'", f"'{Verdict.REJECTED}'"
    sql = f"""
        WITH latest AS (
            SELECT pair_id, probe_key, swapped, status, verdict,
                   row_number() OVER (PARTITION BY pair_id, swapped, sample ORDER BY (status = {ok}) DESC, judged_at DESC) AS pick
            FROM {JUDGMENTS.name}
            WHERE judge = ? AND template_hash = ? AND attribute = ? AND settings_hash = ? AND template LIKE 'probe-%'
              AND pair_id IN (SELECT unnest(?::VARCHAR[]))
        ), probes AS (
            SELECT pair_id, probe_key,
                   count(DISTINCT swapped) FILTER (status = {ok}) AS ok,
                   count(DISTINCT swapped) FILTER (status = {ok} AND verdict = {key_won}) AS key_wins,
                   count(*) FILTER (status <> {ok}) AS not_ok
            FROM latest WHERE pick = 1 GROUP BY ALL
        )
        SELECT coalesce(probe_key, '*') AS key,
               count(*) FILTER (ok > 0) AS probes,
               count(*) FILTER (key_wins > 0) / nullif(count(*) FILTER (ok > 0), 0) AS fp_any,
               count(*) FILTER (ok = 2 AND key_wins = 2) / nullif(count(*) FILTER (ok = 2), 0) AS fp_both,
               sum(not_ok)::INTEGER AS not_ok
        FROM probes
        GROUP BY ROLLUP (probe_key)
    """
    with wh.connect(read_only=True, views=False) as con:
        relation = con.execute(sql, [judge, template_hash, attribute, settings_hash, [i.pair_id for i in items]])
        columns = [d[0] for d in relation.description]
        rows = [dict(zip(columns, r)) for r in relation.fetchall()]
    order = {k["key"]: n for n, k in enumerate(master_keys())}
    rows.sort(key=lambda r: (r["key"] == "*", order.get(r["key"], 0)))
    if not any(r["key"] == "*" for r in rows):
        rows.append({"key": "*", "probes": 0, "fp_any": None, "fp_both": None, "not_ok": 0})
    return rows
