"""`curate rubrics` and `curate augment` on a sample of the real HH-RLHF file, against the embedded llama.cpp
server, then the default release policy and the TRL export: every written row has provenance, augmentations keep their parent's
split, ties reach the export as ties (preference 0.5, margin 0.0) and every exported row has a margin."""

from __future__ import annotations

import gzip
import itertools

import pyarrow.parquet as pq
import yaml
from conftest import query, run_ingest
from typer.testing import CliRunner

from curate import augment, release
from curate.cli import app
from curate.release import ReleaseConfig, export
from curate.release.config import ExportConfig
from curate.release.policy import ReleasePolicy, load_policy
from schemas.vocab import Reason

SAMPLE = 24  # hh pairs: enough prompts for re-pairing donors and three splits


def _sample(real_data, tmp_path):
    path = tmp_path / "hh-sample.jsonl"
    with gzip.open(real_data, "rt", encoding="utf-8") as src:
        path.write_text("".join(itertools.islice(src, SAMPLE)), encoding="utf-8")
    return path


def test_rubrics_and_augmentations_on_real_hh_reach_the_default_release(wh, tmp_path, real_data, llama_server):
    run_ingest(wh, _sample(real_data, tmp_path), source_name="hh", detect_language=False)
    server = {"base_url": llama_server.base_url, "model": llama_server.model}
    llm = {"generator": {**server, "max_tokens": 48}, "judge": {**server, "max_tokens": 40, "max_parse_retries": 0}}
    config = tmp_path / "llm.yaml"
    config.write_text(yaml.safe_dump({"rubrics": llm, "augment": llm}))
    cli = CliRunner()
    made = cli.invoke(app, ["rubrics", "-w", str(wh.path), "--config", str(config), "--limit", "1", "--max-tries", "1"])
    assert made.exit_code == 0, made.output
    assert query(wh, "SELECT count(DISTINCT pair_id) FROM rubrics") == [(1,)]
    for status, reason, generator, template_hash, request_hash, sources in query(
            wh, "SELECT status, reason, generator, template_hash, request_hash, source_pair_ids FROM rubrics"):
        assert generator.endswith(llama_server.model) and template_hash and request_hash and sources  # provenance

        assert (status == "accepted") == (reason is None)  # a rejected rubric always says why

    for cfg in (augment.AugmentConfig(kind="adversarial", limit=6),
                augment.AugmentConfig(kind="neutral", neutral_modes=["repair", "rules"], limit=12)):
        augment.run(wh, cfg)
    causal = cli.invoke(app, ["augment", "-w", str(wh.path), "--config", str(config), "--kind", "causal",
                              "--attribute", "completeness", "--limit", "1"])
    assert causal.exit_code == 0, causal.output
    assert not query(wh, "SELECT * FROM augmentations WHERE status = 'rejected' AND reason IS NULL")
    (llm_made,), = query(wh, "SELECT count(*) FROM augmentations a JOIN llm_requests r USING (request_hash) WHERE a.method = 'llm'")
    assert llm_made == 1  # the causal rewrite, through the one LLM client
    orphans = query(wh, "SELECT p.pair_id FROM pairs p LEFT JOIN augmentations a ON a.pair_id = p.pair_id AND a.status = 'accepted' "
                        "LEFT JOIN pairs parent ON parent.pair_id = p.parent_pair_id "
                        "WHERE p.kind <> 'original' AND (a.pair_id IS NULL OR parent.pair_id IS NULL)")
    assert not orphans  # every augmented pair has its candidate row and its parent
    kinds = dict(query(wh, "SELECT kind, count(*) FROM pairs WHERE kind <> 'original' GROUP BY 1"))
    assert kinds.get("adversarial", 0) >= 6 and kinds.get("neutral", 0) >= 12

    policy = load_policy()  # the default policy, on what the stages really wrote
    info = release.run(wh, ReleaseConfig(name="r1", policy=policy))
    assert info.rows_in > SAMPLE
    rows = query(wh, """
        SELECT p.kind, p.tie, rr.decision, rr.reason, rr.split, parent_rr.split, rr.margin, a.donor_pair_id
        FROM release_rows rr JOIN pairs p USING (pair_id)
        LEFT JOIN release_rows parent_rr ON parent_rr.pair_id = p.parent_pair_id AND parent_rr.release = rr.release
        LEFT JOIN (SELECT DISTINCT pair_id, donor_pair_id FROM augmentations WHERE status = 'accepted') a ON a.pair_id = p.pair_id
        WHERE rr.release = 'r1' AND p.kind <> 'original'""")
    leaks = 0
    for kind, tie, decision, reason, split, parent_split, margin, donor in rows:
        if reason == Reason.AUGMENTATION_LEAK:
            assert donor is not None and decision == "drop"
            leaks += 1
            continue
        assert decision == "keep" and reason == Reason.KEPT, (kind, reason)  # made and checked: no tie or noise rule
        if parent_split is not None:
            assert split == parent_split  # never leaves its parent prompt's split
        assert (margin == 0.0) if tie else margin is not None
    assert leaks < len(rows)

    out = tmp_path / "trl"
    export.run(wh, ExportConfig(release="r1", format="trl", out_dir=str(out)))
    table = pq.read_table(out / "train.parquet").to_pylist()
    assert all(r["margin"] is not None for r in table)
    ties = [r for r in table if r["preference"] == 0.5]
    assert ties and all(r["margin"] == 0.0 for r in ties)
    assert {r["preference"] for r in table} <= {0.5, 1.0}
    augmented = {pid for pid, in query(wh, "SELECT pair_id FROM pairs WHERE kind <> 'original'")}
    for r in table:  # augmentations weigh policy.augmentation_weight in training, real pairs 1
        assert r["weight"] == (policy.augmentation_weight if r["pair_id"] in augmented else 1.0)

    only_causal = ReleasePolicy.model_validate({**policy.model_dump(), "include_augmentations": ["causal", "adversarial"]})
    release.run(wh, ReleaseConfig(name="r2", policy=only_causal))
    dropped = query(wh, "SELECT DISTINCT p.kind FROM release_rows rr JOIN pairs p USING (pair_id) "
                        "WHERE rr.release = 'r2' AND rr.reason = 'augmentation_excluded'")
    assert dropped == [("neutral",)]
