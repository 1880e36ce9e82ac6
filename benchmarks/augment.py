"""Augmentation benchmark: do curate's deterministic augmentations fix what they target, without costing accuracy?

    .venv/bin/python benchmarks/augment.py [--seeds 5] [--train-rm-seeds 3] [--train-rm-pairs 48] [--no-train-rm]
                                           [--augment-weight W] [--llm-parents 8]

On the real HH-RLHF harmless-base file (ingested and embedded once into ``benchmarks/.work/augment/base``), per
seed the prompts are split 70/30 into train and test; the same reward model trains on the train split with and
without each augmentation kind, all made by the library's own modules:

- neutral: one ``curate.augment.rewrites.neutral_rewrites`` rewrite per train pair (response and rule picked by
  the pair id) as a tie, plus a repair tie (the pair's two responses under another train prompt);
- causal: the train chosen response against its ``causal_degrade(..., "completeness")`` truncation;
- adversarial: the train chosen response against a master key (``curate.augment.nonanswers.master_keys``) from
  the seed's train share of the keys (the rest are held out);
- all: every kind at once.

Ties train with the soft-label Bradley-Terry loss at p = 0.5. Augmented rows train at the release policy's
``augmentation_weight`` (``--augment-weight``), real pairs at 1, as a default release exports them; the head also
trains the same rows at full weight beside them. Models: (a) the cross-fit head of the noise stage
(``curate.noise.heads.fit``, linear, ``NoiseConfig().rm``) on the packaged MiniLM's embeddings (``rm.features``,
``rm.standardize``), every arm in one batched fit per seed; (b) the ``curate.evaluate.train_rm`` MiniLM fine-tune
(TRL RewardTrainer; ties through its soft-label trainer), tiny, none vs all. Measured on the test prompts only:
accuracy on the original pairs, length bias on neutral rewrites of test responses, accuracy on truncated test
chosen responses, and the master-key false-positive rate (train keys and held-out keys apart). The LLM arms run
``curate augment`` itself (causal completeness, neutral length rewrites, each judge-checked) on a few real pairs
against the embedded llama.cpp server, a plumbing model: they show the stage end to end and what it accepts.
Every number and sentence in ``benchmarks/results/augment.md`` is computed by the run.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance import header  # noqa: E402

from curate import embed, ingest, sequence  # noqa: E402
from curate.augment import nonanswers, rewrites  # noqa: E402
from curate.noise import heads, rm  # noqa: E402
from curate.noise.config import NoiseConfig  # noqa: E402
from curate.release.policy import ReleasePolicy  # noqa: E402
from curate.warehouse import Warehouse  # noqa: E402
from schemas import EMBEDDINGS  # noqa: E402
from schemas.vocab import CausalAttribute  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
WORK = ROOT / "benchmarks" / ".work" / "augment"
CURATION_SEED = ROOT / "benchmarks" / ".work" / "curation" / "embeddings.parquet"  # curation.py's base embeddings, if present
RESULTS = ROOT / "benchmarks" / "results"
ARMS = ("none", "neutral", "causal", "adversarial", "all")
"""The arms at the release policy's ``augmentation_weight`` (``--augment-weight``): what curate ships."""
FULL = tuple(f"{arm} (weight 1)" for arm in ARMS[1:])
"""The same augmentations at full weight, beside them (head only): what the weight buys."""
KINDS = {"none": (), "neutral": ("neutral",), "causal": ("causal",), "adversarial": ("adversarial",),
         "all": ("neutral", "causal", "adversarial")}
TEST_SHARE = 0.3
MAX_LOST_POINTS = 0.5  # accuracy on the original held-out pairs an augmentation may cost
RUNTIME_LIMIT_S = 1200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the cross-fit head arms (split, keys, init)")
    parser.add_argument("--held-out-keys", type=float, default=1 / 3, help="share of the master keys never trained on")
    parser.add_argument("--train-rm-seeds", type=int, default=3)
    parser.add_argument("--train-rm-pairs", type=int, default=48, help="original train pairs per fine-tune (augmentations added)")
    parser.add_argument("--train-rm-eval", type=int, default=40, help="test pairs per fine-tune evaluation set")
    parser.add_argument("--train-rm-key-pairs", type=int, default=4, help="test prompts each master key is scored on, fine-tune")
    parser.add_argument("--train-rm-max-length", type=int, default=128)
    parser.add_argument("--no-train-rm", action="store_true", help="leave out the fine-tune arm")
    parser.add_argument("--augment-weight", type=float, default=ReleasePolicy().augmentation_weight,
                        help="training weight of an augmented row (default: the release policy's augmentation_weight)")
    parser.add_argument("--llm-parents", type=int, default=8, help="pairs the LLM arms augment through the embedded server "
                        "(0: leave them out)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=RESULTS / "augment.md")
    args = parser.parse_args()
    load_before, started = os.getloadavg(), time.time()
    times: dict[str, float] = {}
    t = time.time()
    base = _base(args)
    times["base warehouse (ingest, embed)"] = time.time() - t
    t = time.time()
    aug = _augmentations(base)
    times["rewrites (curate.augment)"] = time.time() - t
    t = time.time()
    vectors, fresh = _embed_texts(base, aug, args.work)
    times["embed the rewrites and keys"] = time.time() - t
    t = time.time()
    z = _features(base, aug, vectors)
    times["features"] = time.time() - t
    t = time.time()
    head_runs = [_head_seed(base, aug, z, seed, args) for seed in range(args.seeds)]
    times[f"cross-fit head arms ({args.seeds} seeds)"] = time.time() - t
    rm_runs = []
    if not args.no_train_rm:
        t = time.time()
        rm_runs = [_train_rm_seed(base, aug, seed, args) for seed in range(args.train_rm_seeds)]
        times[f"train-rm arms ({args.train_rm_seeds} seeds x 2 fine-tunes)"] = time.time() - t
    llm = {}
    if args.llm_parents:
        t = time.time()
        llm = _llm_arms(args)
        times[f"LLM arms ({args.llm_parents} parents, embedded server)"] = time.time() - t
    elapsed = time.time() - started
    text = _report(args, base, aug, fresh, head_runs, rm_runs, llm, times, elapsed, load_before)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------- data


def _base(args) -> dict:
    """Ingest and embed the real file once (kept under --work); its pairs, texts and embeddings in pair_id order."""
    where = args.work / "base"
    fresh = not (where / "warehouse.yaml").exists()
    wh = Warehouse.init(where)
    cfg = NoiseConfig().embedding
    seeded = 0
    if fresh:
        ingest.run(wh, ingest.IngestConfig(source=str(args.data)))
        if CURATION_SEED.exists():  # the same model's rows, keyed by model and text hash: embed.run finds them cached
            with wh.transaction(f"seed-embeddings-{os.getpid()}", "benchmark: embeddings seeded from curation's base") as tx:
                tx.execute(f"INSERT INTO {EMBEDDINGS.name} BY NAME SELECT * FROM read_parquet(?) WHERE model = ?",
                           [str(CURATION_SEED), embed.model_id(cfg)])
                tx.wrote(EMBEDDINGS)
            seeded = 1
    embedded = embed.run(wh, cfg)
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute("SELECT pair_id, prompt_id, prompt, chosen.content, rejected.content FROM pairs "
                           "WHERE NOT tie ORDER BY pair_id").fetchall()
    feats = embed.pair_features(wh, cfg, [r[0] for r in rows])
    print(f"base: {len(rows)} pairs ({embedded.outcomes['embedded']} texts embedded)", file=sys.stderr)
    return {"pair_ids": [r[0] for r in rows], "prompt_ids": np.array([r[1] for r in rows]),
            "prompts": [[{"role": m["role"], "content": m["content"]} for m in r[2]] for r in rows],
            "chosen": [r[3] for r in rows], "rejected": [r[4] for r in rows], "e_prompt": feats.prompt,
            "e_chosen": feats.chosen, "e_rejected": feats.rejected, "cfg": cfg, "model": embed.model_id(cfg),
            "cold": fresh, "seeded": bool(seeded), "embedded": embedded.outcomes["embedded"]}


def _pick(key: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


def _augmentations(base: dict) -> dict:
    """Per pair, with the library's modules: one neutral rewrite of each response (rule picked by the key), the
    truncation of the chosen response, and the side its neutral training tie uses."""
    neutral: dict[tuple[int, str], rewrites.Rewrite] = {}
    truncated: dict[int, str] = {}
    for i, pid in enumerate(base["pair_ids"]):
        for side in ("chosen", "rejected"):
            options = rewrites.neutral_rewrites(base[side][i], key=f"{pid}:{side}")
            if options:
                neutral[(i, side)] = options[_pick(f"{pid}:{side}:rule", len(options))]
        degraded = rewrites.causal_degrade(base["chosen"][i], CausalAttribute.COMPLETENESS, key=pid)
        if degraded is not None:
            truncated[i] = degraded.text
    tie_side = {}
    for i, pid in enumerate(base["pair_ids"]):
        sides = [s for s in (("chosen", "rejected") if _pick(f"{pid}:tie", 2) == 0 else ("rejected", "chosen")) if (i, s) in neutral]
        if sides:
            tie_side[i] = sides[0]
    keys = nonanswers.master_keys()
    tokenizer = _tokenizer()
    visible = {k for k, rw in neutral.items() if tokenizer(rw.text, verbose=False)["input_ids"] != tokenizer(base[k[1]][k[0]], verbose=False)["input_ids"]}
    return {"neutral": neutral, "truncated": truncated, "tie_side": tie_side, "keys": keys, "visible": visible}


def _tokenizer():
    import transformers

    return sequence.tokenizer(transformers, sequence.default_model())


def _embed_texts(base: dict, aug: dict, work: Path) -> tuple[dict[str, np.ndarray], int]:
    """Embeddings of every rewrite, truncation and key, by ``curate.embed.encode`` (the stage's encoder), cached
    under --work by model and text hash."""
    texts = sorted({rw.text for rw in aug["neutral"].values()} | set(aug["truncated"].values()) | set(aug["keys"]))
    cache_file = work / "rewrites-embeddings.npz"
    cached: dict[str, np.ndarray] = {}
    if cache_file.exists():
        data = np.load(cache_file)
        cached = {k: data[k] for k in data.files}

    def name(text: str) -> str:
        return hashlib.sha256(f"{base['model']}\x1f{text}".encode()).hexdigest()

    todo = sorted((t for t in texts if name(t) not in cached), key=len, reverse=True)  # similar lengths per batch
    if todo:
        print(f"embedding {len(todo)} rewrites and keys ({len(texts) - len(todo)} cached)", file=sys.stderr, flush=True)
        vectors = embed.encode(todo, base["cfg"])
        cached.update({name(t): v for t, v in zip(todo, vectors)})
        work.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, **{name(t): cached[name(t)] for t in texts})
    return {t: cached[name(t)] for t in texts}, len(todo)


def _features(base: dict, aug: dict, vectors: dict[str, np.ndarray]) -> dict:
    """One standardization (``rm.standardize``) over every response row of the benchmark, the same for all arms:
    originals, rewrites, truncations, and every key under every prompt."""
    n, ep = len(base["pair_ids"]), base["e_prompt"]
    keys = aug["keys"]
    blocks = {"chosen": rm.features(ep, base["e_chosen"]), "rejected": rm.features(ep, base["e_rejected"])}
    nk = sorted(aug["neutral"])
    blocks["neutral"] = rm.features(ep[[i for i, _ in nk]], np.stack([vectors[aug["neutral"][k].text] for k in nk]))
    tk = sorted(aug["truncated"])
    blocks["truncated"] = rm.features(ep[tk], np.stack([vectors[aug["truncated"][i]] for i in tk]))
    key_vectors = np.stack([vectors[k] for k in keys])
    blocks["keys"] = rm.features(np.repeat(ep, len(keys), axis=0), np.tile(key_vectors, (n, 1)))  # row i * K + k
    order = list(blocks)
    pooled = np.concatenate([blocks[b] for b in order])
    z, _ = rm.standardize(pooled, pooled)
    mean = pooled.mean(axis=0)  # the same transform for rows made later (repair), as rm.standardize computes it here
    std = np.sqrt(((pooled - mean) ** 2).mean(axis=0)) + 1e-6
    if not np.allclose((pooled[:8] - mean) / std, z[:8], atol=1e-4):
        raise RuntimeError("the repair rows' scaling differs from rm.standardize")
    out, start = {"mean": mean, "std": std}, 0
    for b in order:
        out[b] = z[start:start + len(blocks[b])]
        start += len(blocks[b])
    out["neutral_index"] = {k: j for j, k in enumerate(nk)}
    out["truncated_index"] = {i: j for j, i in enumerate(tk)}
    return out


def _split(base: dict, seed: int) -> np.ndarray:
    """True where the pair's prompt is in the test share (by prompt, seeded)."""
    uniques, inverse = np.unique(base["prompt_ids"], return_inverse=True)
    rng = np.random.default_rng(100 + seed)
    test_prompts = rng.random(len(uniques)) < TEST_SHARE
    return test_prompts[inverse]


def _key_split(keys: list[str], seed: int, share: float) -> set[str]:
    """The keys held out of training for this seed."""
    rng = np.random.default_rng(200 + seed)
    return set(np.array(keys)[rng.permutation(len(keys))[: max(1, round(share * len(keys)))]].tolist())


def _train_rows(base: dict, aug: dict, train: list[int], seed: int, train_keys: list[str]) -> list[dict]:
    """The augmented training rows (every kind) built from the train pairs: which texts, soft label, kind."""
    rng = np.random.default_rng(300 + seed)
    partner = {i: j for i, j in zip(train, np.roll(rng.permutation(train), 1))}  # another train prompt for repair
    rows = []
    for i in train:
        pid = base["pair_ids"][i]
        if i in aug["tie_side"]:
            side = aug["tie_side"][i]
            rows.append({"kind": "neutral", "pair": i, "a": (i, side), "b": ("neutral", (i, side)), "p": 0.5, "rule": aug["neutral"][(i, side)].name})
        if partner[i] != i:
            rows.append({"kind": "neutral", "pair": i, "prompt": partner[i], "a": (i, "chosen"), "b": (i, "rejected"), "p": 0.5, "rule": "repair"})
        if i in aug["truncated"]:
            rows.append({"kind": "causal", "pair": i, "a": (i, "chosen"), "b": ("truncated", i), "p": 1.0})
        rows.append({"kind": "adversarial", "pair": i, "a": (i, "chosen"), "b": ("key", train_keys[_pick(f"{pid}:key", len(train_keys))]), "p": 1.0})
    return rows


# ---------------------------------------------------------------------------------------------- (a) cross-fit head


def _head_seed(base: dict, aug: dict, z: dict, seed: int, args) -> dict:
    """Every arm's head trained at once (one group per arm, 0/1 weights), scored on this seed's test prompts."""
    test = _split(base, seed)
    train, held = np.flatnonzero(~test).tolist(), np.flatnonzero(test).tolist()
    held_keys = _key_split(aug["keys"], seed, args.held_out_keys)
    train_keys = [k for k in aug["keys"] if k not in held_keys]
    extra = _train_rows(base, aug, train, seed, train_keys)
    kidx = {k: j for j, k in enumerate(aug["keys"])}

    def row(ref, prompt: int) -> np.ndarray:
        if ref[0] == "neutral":
            return z["neutral"][z["neutral_index"][ref[1]]]
        if ref[0] == "truncated":
            return z["truncated"][z["truncated_index"][ref[1]]]
        if ref[0] == "key":
            return z["keys"][prompt * len(aug["keys"]) + kidx[ref[1]]]
        i, side = ref
        if prompt == i:
            return z[side][i]
        return _refeature(base, z, i, side, prompt)  # a repair row: this response under another prompt

    phi_c = np.concatenate([z["chosen"][train], np.stack([row(r["a"], r.get("prompt", r["pair"])) for r in extra])])
    phi_r = np.concatenate([z["rejected"][train], np.stack([row(r["b"], r.get("prompt", r["pair"])) for r in extra])])
    kinds = np.array(["original"] * len(train) + [r["kind"] for r in extra])
    arms = (*ARMS, *FULL)
    weight = {arm: 1.0 if arm in FULL else args.augment_weight for arm in arms}
    weights = np.stack([np.isin(kinds, ("original", *KINDS[arm.split(" (")[0]])) * np.where(kinds == "original", 1.0, weight[arm])
                        for arm in arms])
    preferences = np.concatenate([np.ones(len(train)), [r["p"] for r in extra]])
    cfg = NoiseConfig().rm.model_copy(update={"seed": seed})
    t = time.time()
    trained = heads.fit(phi_c, phi_r, weights, cfg, seed=seed, preferences=preferences)
    fit_s = time.time() - t

    def margins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return trained.margins(a, b)  # (n, arms)

    sets = _head_eval_sets(base, aug, z, held, kidx)
    out = {"seed": seed, "fit_s": fit_s, "train_pairs": len(train), "test_pairs": len(held), "held_keys": sorted(held_keys),
           "rows": {arm: int((w > 0).sum()) for arm, w in zip(arms, weights)}, "by_kind": {k: int((kinds == k).sum()) for k in set(kinds)},
           "arms": {arm: {} for arm in arms}}
    m_orig = margins(z["chosen"][held], z["rejected"][held])
    m_len = margins(*sets["length"])
    m_trunc = margins(*sets["causal"])
    m_keys = margins(*sets["keys"])
    held_key_mask = np.array([k in held_keys for k in sets["key_names"]])
    for a, arm in enumerate(arms):
        r = out["arms"][arm]
        r["acc"] = float((m_orig[:, a] > 0).mean())
        r["length_bias"] = _share_positive(m_len[:, a])
        r["length_by_rule"] = {rule: _share_positive(m_len[sets["rules"] == rule, a]) for rule in sorted(set(sets["rules"]))}
        r["rule_bias"] = _rule_bias(r["length_by_rule"], {rule: int((sets["rules"] == rule).sum()) for rule in r["length_by_rule"]})
        r["causal_acc"] = float((m_trunc[:, a] > 0).mean())
        fp = m_keys[:, a] < 0  # the key scored above the real chosen answer
        r["fp_all"], r["fp_train_keys"], r["fp_held_keys"] = float(fp.mean()), float(fp[~held_key_mask].mean()), float(fp[held_key_mask].mean())
    out["eval_sizes"] = {"length": len(sets["rules"]), "causal": len(m_trunc), "keys": len(m_keys), "length_rules": {
        rule: int((sets["rules"] == rule).sum()) for rule in sorted(set(sets["rules"]))}, "length_invisible": sets["invisible"]}
    return out


def _refeature(base: dict, z: dict, i: int, side: str, prompt: int) -> np.ndarray:
    """Response ``side`` of pair ``i`` under pair ``prompt``'s prompt (a repair row), scaled like the pooled rows."""
    x = rm.features(base["e_prompt"][[prompt]], base[f"e_{side}"][[i]])[0]
    return ((x - z["mean"]) / z["std"]).astype(np.float32)


def _head_eval_sets(base: dict, aug: dict, z: dict, held: list[int], kidx: dict) -> dict:
    """Held-out evaluation rows: (longer, shorter) neutral rewrites, (original, truncated), (chosen, key)."""
    long_rows, short_rows, rules, invisible = [], [], [], 0
    for i in held:
        for side in ("chosen", "rejected"):
            rw = aug["neutral"].get((i, side))
            if rw is None or len(rw.text) == len(base[side][i]):
                continue
            if (i, side) not in aug["visible"]:
                invisible += 1  # the rewrite reaches the model as the same tokens: no bias can show
                continue
            new, old = z["neutral"][z["neutral_index"][(i, side)]], z[side][i]
            longer = len(rw.text) > len(base[side][i])
            long_rows.append(new if longer else old)
            short_rows.append(old if longer else new)
            rules.append(rw.name)
    tr = [i for i in held if i in aug["truncated"]]
    keys = aug["keys"]
    return {"length": (np.stack(long_rows), np.stack(short_rows)), "rules": np.array(rules), "invisible": invisible,
            "causal": (z["chosen"][tr], np.stack([z["truncated"][z["truncated_index"][i]] for i in tr])),
            "keys": (np.repeat(z["chosen"][held], len(keys), axis=0), np.stack([z["keys"][i * len(keys) + kidx[k]] for i in held for k in keys])),
            "key_names": [k for _ in held for k in keys]}


def _rule_bias(by_rule: dict[str, float], counts: dict[str, int]) -> float:
    """Count-weighted mean over the rules of |P(longer higher) - 0.5|: opposite biases of two rules do not cancel."""
    total = sum(counts.values())
    return sum(abs(by_rule[k] - 0.5) * counts[k] for k in by_rule) / total if total else math.nan


def _share_positive(m: np.ndarray) -> float:
    """Share of pairs whose first response scores higher; an exact tie counts a half."""
    return float(((m > 0) + 0.5 * (m == 0)).mean()) if len(m) else math.nan


# ---------------------------------------------------------------------------------------------- (b) train-rm


def _train_rm_seed(base: dict, aug: dict, seed: int, args) -> dict:
    """The packaged MiniLM fine-tuned (curate.evaluate.train_rm.fit) without and with every augmentation."""
    import torch
    import transformers
    import trl

    from curate.evaluate import train_rm
    from curate.evaluate.config import TrainRMConfig

    test = _split(base, seed)
    rng = np.random.default_rng(400 + seed)
    train = sorted(rng.permutation(np.flatnonzero(~test))[: args.train_rm_pairs].tolist())
    held = rng.permutation(np.flatnonzero(test)).tolist()
    held_keys = _key_split(aug["keys"], seed, args.held_out_keys)
    train_keys = [k for k in aug["keys"] if k not in held_keys]
    P = train_rm.Pair

    def text(ref) -> str:
        if ref[0] == "neutral":
            return aug["neutral"][ref[1]].text
        if ref[0] == "truncated":
            return aug["truncated"][ref[1]]
        if ref[0] == "key":
            return ref[1]
        return base[ref[1]][ref[0]]

    def pair(i: int, a: str, b: str, p: float = 1.0, prompt: int | None = None, weight: float = 1.0) -> train_rm.Pair:
        return P(base["pair_ids"][i], base["prompts"][i if prompt is None else prompt], a, b, 0.0, p, weight)

    original = [pair(i, base["chosen"][i], base["rejected"][i]) for i in train]
    extra = [pair(r["pair"], text(r["a"]), text(r["b"]), r["p"], r.get("prompt"), args.augment_weight)
             for r in _train_rows(base, aug, train, seed, train_keys)]
    n = args.train_rm_eval
    sets = {"original": [pair(i, base["chosen"][i], base["rejected"][i]) for i in held[:n]], "causal": []}
    length = 0
    for i in held:
        for side in ("chosen", "rejected"):
            rw = aug["neutral"].get((i, side))
            if rw is not None and (i, side) in aug["visible"] and len(rw.text) != len(base[side][i]) and length < n:
                old = base[side][i]
                sets.setdefault(f"length:{rw.name}", []).append(pair(i, rw.text, old) if len(rw.text) > len(old) else pair(i, old, rw.text))
                length += 1
        if i in aug["truncated"] and len(sets["causal"]) < n:
            sets["causal"].append(pair(i, base["chosen"][i], aug["truncated"][i]))
    key_prompts = held[: args.train_rm_key_pairs]
    sets["keys_train"] = [pair(i, base["chosen"][i], k) for i in key_prompts for k in train_keys]
    sets["keys_held"] = [pair(i, base["chosen"][i], k) for i in key_prompts for k in sorted(held_keys)]
    cfg = TrainRMConfig(release="benchmark", max_length=args.train_rm_max_length, epochs=1.0, seed=seed)
    out = {"seed": seed, "arms": {}, "eval_sizes": {k: len(v) for k, v in sets.items()}}
    for arm, rows in (("none", original), ("all", original + extra)):
        t = time.time()
        model, tokenizer, fit_s = train_rm.fit(torch, transformers, trl, sequence.default_model(), rows, cfg, "cpu")
        acc = {name: train_rm.accuracy(torch, model, tokenizer, pairs, cfg) for name, pairs in sets.items() if pairs}
        by_rule = {name.split(":", 1)[1]: v for name, v in acc.items() if name.startswith("length:")}
        counts = {rule: len(sets[f"length:{rule}"]) for rule in by_rule}
        acc["length"] = sum(by_rule[k] * counts[k] for k in by_rule) / sum(counts.values()) if counts else math.nan
        out["arms"][arm] = {"rows": len(rows), "ties": sum(p.preference != 1.0 for p in rows), "fit_s": fit_s,
                            "total_s": time.time() - t, "acc": acc.get("original", math.nan), "length_bias": acc.get("length", math.nan),
                            "causal_acc": acc.get("causal", math.nan), "fp_train_keys": 1 - acc.get("keys_train", math.nan),
                            "fp_held_keys": 1 - acc.get("keys_held", math.nan), "length_by_rule": by_rule,
                            "rule_bias": _rule_bias(by_rule, counts)}
        print(f"train-rm seed={seed} arm={arm}: {time.time() - t:.0f}s", file=sys.stderr, flush=True)
    return out


# ---------------------------------------------------------------------------------------------- LLM arms


def _llm_arms(args) -> dict:
    """The LLM-made augmentations through ``curate.augment.run`` itself, on the embedded llama.cpp server: causal
    (completeness) and neutral style (length) rewrites of the first ``--llm-parents`` pairs of the real file, in a
    fresh warehouse (so every request is sent), each candidate checked by the same server in both orders."""
    import gzip
    import itertools
    import shutil

    from curate import augment
    from curate.judge import server

    where = args.work / "llm"
    shutil.rmtree(where, ignore_errors=True)
    wh = Warehouse.init(where / "warehouse")
    sample = where / "sample.jsonl"
    with gzip.open(args.data, "rt", encoding="utf-8") as src:
        sample.write_text("".join(itertools.islice(src, args.llm_parents)), encoding="utf-8")
    ingest.run(wh, ingest.IngestConfig(source=str(sample), detect_language=False))
    out = {"model": server.model_name(server.default_model_path()), "kinds": {}}
    for kind, attribute, extra in (("causal", CausalAttribute.COMPLETENESS.value, {}), ("neutral", "length", {"neutral_modes": ["llm"]})):
        cfg = augment.AugmentConfig(kind=kind, attributes=[attribute], limit=args.llm_parents, generator={"max_tokens": 192},
                                    judge={"max_tokens": 64}, **extra)
        t = time.time()
        result = augment.run(wh, cfg)
        with wh.connect(read_only=True, views=False) as con:
            outcomes = con.execute("SELECT status, coalesce(reason, ''), count(*) FROM augmentations WHERE kind = ? "
                                   "GROUP BY ALL ORDER BY 3 DESC, 1, 2", [kind]).fetchall()
            similarity = con.execute("SELECT avg(similarity) FROM augmentations WHERE kind = ?", [kind]).fetchone()[0]
        usage = result.details.get("llm", {})
        out["kinds"][kind] = {"attribute": attribute, "seconds": time.time() - t, "outcomes": outcomes, "similarity": similarity,
                              "requests": sum(u.get("requests_sent", 0) for u in usage.values())}
        print(f"LLM arm {kind}: {time.time() - t:.0f}s", file=sys.stderr, flush=True)
    return out


def _llm_lines(args, llm: dict) -> list[str]:
    if not llm:
        return ["## LLM arms", "", "- not run (`--llm-parents 0`)", ""]
    lines = [f"## LLM arms: `curate augment` on the embedded server ({llm['model']})", "",
             f"- the embedded model is a plumbing model (SmolLM2-135M, near-random as a judge and a rewriter): these rows "
             f"show the stage working end to end on {args.llm_parents} real pairs, not what an LLM augmentation is worth; "
             "its accepted pairs are not added to the trained arms above", "",
             "| kind | attribute | candidates | accepted | rejected by reason | mean similarity | requests sent | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, r in llm["kinds"].items():
        total = sum(n for _, _, n in r["outcomes"])
        accepted = sum(n for status, _, n in r["outcomes"] if status == "accepted")
        reasons = ", ".join(f"{reason} {n}" for status, reason, n in r["outcomes"] if status != "accepted") or "none"
        sim = f"{r['similarity']:.3f}" if r["similarity"] is not None else "n/a"
        lines.append(f"| {kind} | {r['attribute']} | {total} | {accepted} | {reasons} | {sim} | {r['requests']} | {r['seconds']:.0f} |")
    return lines + [""]


# ---------------------------------------------------------------------------------------------- report


def _stats(values) -> tuple[float, float, float, float]:
    v = np.array([x for x in values if not (isinstance(x, float) and math.isnan(x))], float)
    if not len(v):
        return (math.nan,) * 4
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan, float(v.min()), float(v.max())


def _fmt(values, digits: int = 3, scale: float = 1.0) -> str:
    mean, sd, lo, hi = (x * scale for x in _stats(values))
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f}" + ("" if math.isnan(sd) else f" ± {sd:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]")


def _mean(values) -> float:
    return _stats(values)[0]


def _arm_table(runs: list[dict], arms: tuple[str, ...], title: str) -> list[str]:
    lines = [title, "", "| arm | training rows | acc original | length bias, pooled (P longer higher) | abs(pooled - 0.5) | "
             "per-rule abs(P - 0.5) | acc truncated | master-key FP, train keys | FP, held-out keys | FP, all keys |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for arm in arms:
        rs = [r["arms"][arm] for r in runs if arm in r["arms"]]
        rows = [r["rows"][arm] if "rows" in r else r["arms"][arm]["rows"] for r in runs if arm in r["arms"]]
        fp_all = _fmt([x.get("fp_all", math.nan) for x in rs])
        lines.append(f"| {arm} | {_mean(rows):.0f} | {_fmt([x['acc'] for x in rs])} | {_fmt([x['length_bias'] for x in rs])} | "
                     f"{_fmt([abs(x['length_bias'] - 0.5) for x in rs])} | {_fmt([x['rule_bias'] for x in rs])} | {_fmt([x['causal_acc'] for x in rs])} | "
                     f"{_fmt([x['fp_train_keys'] for x in rs])} | {_fmt([x['fp_held_keys'] for x in rs])} | {fp_all} |")
    return lines + [""]


def _diff_table(runs: list[dict], arms: tuple[str, ...]) -> list[str]:
    lines = ["Paired against `none` on the same seed (same split, keys and initialization): arm minus none.", "",
             "| arm | acc original (points) | abs(pooled bias - 0.5) | per-rule abs(P - 0.5) | acc truncated | FP train keys | "
             "FP held-out keys |", "|---|---|---|---|---|---|---|"]

    def same(x: float) -> float:
        return x

    def pooled(x: float) -> float:
        return abs(x - 0.5)

    for arm in arms[1:]:
        def d(k: str, f=same) -> list[float]:
            return [f(r["arms"][arm][k]) - f(r["arms"]["none"][k]) for r in runs if arm in r["arms"]]
        lines.append(f"| {arm} | {_fmt(d('acc'), 2, 100)} | {_fmt(d('length_bias', pooled))} | {_fmt(d('rule_bias'))} | {_fmt(d('causal_acc'))} | "
                     f"{_fmt(d('fp_train_keys'))} | {_fmt(d('fp_held_keys'))} |")
    return lines + [""]


def _verdicts(runs: list[dict], label: str, arms: tuple[str, ...]) -> list[str]:
    def check(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    def m(arm: str, key: str, f=lambda x: x) -> float:
        return _mean([f(r["arms"][arm][key]) for r in runs if arm in r["arms"]])

    lines = []
    bias = lambda x: abs(x - 0.5)  # noqa: E731
    for arm in [a for a in arms if a in ("neutral", "all")]:
        lines.append(f"- {label}, {arm}: length bias, pooled over the rules, |P - 0.5| {m(arm, 'length_bias', bias):.3f} vs none "
                     f"{m('none', 'length_bias', bias):.3f} (must be lower): {check(m(arm, 'length_bias', bias) < m('none', 'length_bias', bias))}")
        lines.append(f"- {label}, {arm}: length bias per rule (count-weighted mean |P - 0.5|) {m(arm, 'rule_bias'):.3f} vs none "
                     f"{m('none', 'rule_bias'):.3f} (must be lower): {check(m(arm, 'rule_bias') < m('none', 'rule_bias'))}")
    for arm in [a for a in arms if a in ("causal", "all")]:
        lines.append(f"- {label}, {arm}: accuracy on truncated chosen responses {m(arm, 'causal_acc'):.3f} vs none "
                     f"{m('none', 'causal_acc'):.3f} (must be higher): {check(m(arm, 'causal_acc') > m('none', 'causal_acc'))}")
    for arm in [a for a in arms if a in ("adversarial", "all")]:
        for key, what in (("fp_train_keys", "train keys"), ("fp_held_keys", "held-out keys")):
            lines.append(f"- {label}, {arm}: master-key false-positive rate, {what}, {m(arm, key):.3f} vs none {m('none', key):.3f} "
                         f"(must be lower): {check(m(arm, key) < m('none', key))}")
    for arm in arms[1:]:
        lost = 100 * (m("none", "acc") - m(arm, "acc"))
        lines.append(f"- {label}, {arm}: costs {lost:.2f} points of accuracy on the original held-out pairs "
                     f"(<= {MAX_LOST_POINTS}): {check(lost <= MAX_LOST_POINTS)}")
    return lines


def _report(args, base, aug, fresh, head_runs, rm_runs, llm, times, elapsed, load_before) -> str:
    n = len(base["pair_ids"])
    rules = {}
    for rw in aug["neutral"].values():
        rules[rw.name] = rules.get(rw.name, 0) + 1
    h0 = head_runs[0]
    lines = [f"# Augmentation benchmark: deterministic augmentations on real HH-RLHF pairs, {args.seeds} seeds", "",
             *header(load_before), ""]
    lines += [f"- data: `{args.data.name}`, {n:,} pairs; embeddings `{base['model']}` "
              f"({'cold' if base['cold'] else 'warm'} base warehouse, {base['embedded']:,} texts embedded for it"
              f"{', seeded from benchmarks/.work/curation' if base['seeded'] else ''}); {fresh:,} rewrites and keys embedded "
              f"by `curate.embed.encode` in this run (the rest cached under `{args.work.relative_to(ROOT) if args.work.is_relative_to(ROOT) else args.work}`)",
              f"- rules: `curate.augment.rewrites` RULES_VERSION `{rewrites.RULES_VERSION}`; one neutral rewrite per response, rule "
              f"picked by the pair id among those that apply: " + ", ".join(f"{k} {v:,}" for k, v in sorted(rules.items())) +
              f" (of {2 * n:,} responses); truncations (`causal_degrade(..., completeness)`) of {len(aug['truncated']):,} of {n:,} chosen responses",
              f"- master keys: {len(aug['keys'])} (`curate.augment.nonanswers.master_keys()`), {round(args.held_out_keys * len(aug['keys']))} "
              f"held out of training per seed (seeded); held out in seed 0: " + ", ".join(f"`{k}`" for k in h0["held_keys"]),
              f"- split: by prompt, {1 - TEST_SHARE:.0%} train / {TEST_SHARE:.0%} test, seeded per seed; seed 0: "
              f"{h0['train_pairs']:,} train pairs, {h0['test_pairs']:,} test pairs",
              f"- training rows added per seed (mean): " + ", ".join(f"{k} {_mean([r['by_kind'].get(k, 0) for r in head_runs]):.0f}"
                                                                   for k in ("original", "neutral", "causal", "adversarial")) +
              " (neutral: one rewrite tie per pair where a rule applies, plus one repair tie per pair; ties train at p = 0.5)",
              f"- held-out evaluation sets, seed 0: length {h0['eval_sizes']['length']:,} rewrite pairs that change the length ("
              + ", ".join(f"{k} {v}" for k, v in h0["eval_sizes"]["length_rules"].items()) +
              f"; {h0['eval_sizes']['length_invisible']} more left out: the rewrite reaches the model as the same tokens), "
              f"truncated {h0['eval_sizes']['causal']:,}, (chosen, key) {h0['eval_sizes']['keys']:,}",
              "- spread: mean ± sample sd [min, max] over seeds", ""]
    lines += _arm_table(head_runs, (*ARMS, *FULL), "## (a) Cross-fit head (`curate.noise.heads.fit`, linear, `NoiseConfig().rm`) on MiniLM embeddings")
    lines += [f"Augmented rows train at weight {args.augment_weight:g} (`--augment-weight`; the release policy's "
              f"`augmentation_weight` is {ReleasePolicy().augmentation_weight:g}), real pairs at 1; the `(weight 1)` arms train "
              "the same rows at full weight.", ""]
    lines += _diff_table(head_runs, (*ARMS, *FULL))
    lines += ["Length bias per neutral rule (share where the longer response scores higher):", "",
              "| arm | " + " | ".join(h0["eval_sizes"]["length_rules"]) + " |", "|---|" + "---|" * len(h0["eval_sizes"]["length_rules"])]
    for arm in (*ARMS, *FULL):
        lines.append(f"| {arm} | " + " | ".join(_fmt([r["arms"][arm]["length_by_rule"].get(rule, math.nan) for r in head_runs])
                                                for rule in h0["eval_sizes"]["length_rules"]) + " |")
    lines.append("")
    if rm_runs:
        r0 = rm_runs[0]
        lines += [f"## (b) Fine-tuned MiniLM (`curate.evaluate.train_rm.fit`, TRL RewardTrainer), {len(rm_runs)} seeds", "",
                  f"- {args.train_rm_pairs} original train pairs per fine-tune (seeded sample of the train split), augmentations built "
                  f"from them alone, at weight {args.augment_weight:g}; 1 epoch, max_length {args.train_rm_max_length}, batch 8, "
                  "lr 5e-5, CPU; arms none and all only",
                  f"- rows: none {_mean([r['arms']['none']['rows'] for r in rm_runs]):.0f}, all {_mean([r['arms']['all']['rows'] for r in rm_runs]):.0f} "
                  f"({_mean([r['arms']['all']['ties'] for r in rm_runs]):.0f} ties, soft-label trainer); fit s none "
                  f"{_mean([r['arms']['none']['fit_s'] for r in rm_runs]):.0f}, all {_mean([r['arms']['all']['fit_s'] for r in rm_runs]):.0f}",
                  f"- evaluation sets per seed: " + ", ".join(f"{k} {v}" for k, v in r0["eval_sizes"].items()) +
                  f" (keys: {args.train_rm_key_pairs} test prompts x each key)", ""]
        lines += _arm_table(rm_runs, ("none", "all"), "| fine-tune |")[2:]
        lines += _diff_table(rm_runs, ("none", "all"))
    else:
        lines += ["## (b) Fine-tuned MiniLM", "", "- not run (`--no-train-rm`)", ""]
    lines += _llm_lines(args, llm)
    lines += ["## Runtime", "", "| part | seconds |", "|---|---|"] + [f"| {k} | {v:.1f} |" for k, v in times.items()]
    lines += ["", f"Total wall time {elapsed:.0f}s; head fit {_mean([r['fit_s'] for r in head_runs]):.1f}s per seed "
                  f"({len(ARMS) + len(FULL)} arms at once); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", ""]
    lines += ["## Targets", "", f"At the policy's weight ({args.augment_weight:g}): what a default release trains.", "",
              *_verdicts(head_runs, "head", ARMS)]
    if rm_runs:
        lines += _verdicts(rm_runs, "fine-tune", ("none", "all"))
    lines += [f"- runtime {elapsed:.0f}s (<= {RUNTIME_LIMIT_S}s): {'PASS' if elapsed <= RUNTIME_LIMIT_S else 'MISS'}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
