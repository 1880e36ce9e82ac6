"""Cross-fitted fine-tuned reward scorer (method ``cross``): a cross-encoder that reads the prompt and response together.

The embedding heads (``rm``) see each text through a frozen sentence embedding, which caps how well
they can tell a wrong label from a right one. Here the packaged MiniLM encoder itself is fine-tuned
as a one-logit reward model ``r(x, y)`` on the rendered conversation (the same chat template, or
plain ``role: content`` rendering, and left truncation as ``curate train-rm``, so the response
survives), with the Bradley-Terry loss ``-log sigmoid(r(x, chosen) - r(x, rejected))``.

Every margin is out of fold: for each fold a fresh copy of the encoder trains on the other folds'
pairs and scores the held-out ones. Each response is scored on its own, in an order that depends
only on its tokens, so swapping a pair's responses negates its margin exactly. Training is a plain
torch loop (AdamW, linear warmup and decay, mini-batches of pairs of similar length), seeded per fold, so the same
inputs and config give the same margins on a CPU. It is slow on a CPU (see ``benchmarks/cross.py``),
hence opt-in. torch and transformers are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from curate import sequence

_POOL = 16
"""Batches per pool that training sorts by length: random enough for SGD, and little padding."""


class CrossConfig(BaseModel):
    """How the cross-encoder is fine-tuned and run. Part of the noise config, so its hash is on every score."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(1, ge=1, description="passes over each fold's training pairs")
    lr: float = Field(3e-5, gt=0, description="AdamW peak learning rate")
    warmup: float = Field(0.1, ge=0, lt=1, description="share of the steps over which the learning rate ramps up (then decays linearly to 0)")
    weight_decay: float = Field(0.01, ge=0, description="AdamW decoupled weight decay")
    batch_size: int = Field(8, ge=1, description="pairs per optimizer step (twice as many sequences)")
    max_length: int = Field(256, ge=8, description="tokens per rendered conversation, cut from the left so the response survives")
    threads: int = Field(1, ge=1, description="torch CPU threads (capped at the cores this process may use)")
    seed: int = Field(0, description="seed of the head initialization, dropout, batch order and subsampling")
    max_train_pairs: int | None = Field(None, ge=1, description="cap on training pairs per fold (a seeded sample); null = all")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' = cuda when available, else cpu")


@dataclass(frozen=True)
class Encoder:
    """The loaded pieces one fine-tune needs: the libraries, the tokenizer, the model folder and the device."""

    torch: Any
    transformers: Any
    tokenizer: Any
    model_dir: str
    device: str


def load(cfg: CrossConfig) -> Encoder:
    """The tokenizer of the packaged MiniLM encoder, with torch's threads capped and the device chosen."""
    import torch
    import transformers

    from curate.threads import cap_torch

    cap_torch(cfg.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    model_dir = sequence.default_model()
    return Encoder(torch, transformers, sequence.tokenizer(transformers, model_dir), model_dir, device)


def encode(enc: Encoder, prompts: list[str], responses: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each conversation (user: prompt, assistant: response), its last ``max_length`` tokens."""
    return [sequence.encode(enc.tokenizer, [{"role": "user", "content": p}], r, max_length) for p, r in zip(prompts, responses)]


def new_model(enc: Encoder, seed: int):
    """A fresh one-logit sequence classifier on the encoder; ``seed`` fixes its new head's initialization."""
    log = enc.transformers.utils.logging
    level, bar = log.get_verbosity(), log.is_progress_bar_enabled()
    log.set_verbosity_error()  # the new head is meant to be missing from the checkpoint: its load report is noise
    log.disable_progress_bar()
    try:
        enc.torch.manual_seed(seed)
        model = enc.transformers.AutoModelForSequenceClassification.from_pretrained(enc.model_dir, num_labels=1)
    finally:
        log.set_verbosity(level)
        if bar:
            log.enable_progress_bar()
    model.config.pad_token_id = enc.tokenizer.pad_token_id
    return model.to(enc.device)


def train(enc: Encoder, model, chosen: list[list[int]], rejected: list[list[int]], weights: np.ndarray, cfg: CrossConfig, seed: int) -> None:
    """Fine-tune ``model`` in place with the weighted Bradley-Terry loss on the given pairs (weights > 0)."""
    torch = enc.torch
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)  # dropout
    steps = cfg.epochs * -(-len(chosen) // cfg.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = enc.transformers.get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * steps), steps)
    w = torch.as_tensor(np.asarray(weights, dtype=np.float32), device=enc.device)
    lengths = np.array([max(len(c), len(r)) for c, r in zip(chosen, rejected)])
    model.train()
    for _ in range(cfg.epochs):
        for batch in _length_batches(lengths, cfg.batch_size, rng):
            rewards = _rewards(enc, model, [chosen[i] for i in batch] + [rejected[i] for i in batch])
            margin = rewards[: len(batch)] - rewards[len(batch):]
            bw = w[torch.as_tensor(batch, device=enc.device)]
            loss = -(torch.nn.functional.logsigmoid(margin) * bw).sum() / bw.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()


def score(enc: Encoder, model, ids: list[list[int]], batch_size: int) -> np.ndarray:
    """The reward of each sequence, batched in token order (length, then ids): the batches depend only on which
    texts there are, not on their order, so swapping a pair's responses leaves every reward bit for bit as it was."""
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), ids[i]))
    out = np.empty(len(ids), dtype=np.float64)
    model.eval()
    with enc.torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            out[batch] = _rewards(enc, model, [ids[i] for i in batch]).double().cpu().numpy()
    return out


def cross_fit_margins(
    prompts: list[str],
    chosen: list[str],
    rejected: list[str],
    *,
    folds: np.ndarray,
    cfg: CrossConfig,
    weights: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """Out-of-fold margins ``r(x, chosen) - r(x, rejected)``, shape (n,): each pair scored by an encoder
    fine-tuned on the other folds' pairs only.

    ``weights`` (per pair, default 1) weigh each pair's loss; 0 leaves it out of training (ties), but
    every pair is scored. ``max_train_pairs`` caps each fold's training pairs by a seeded sample.
    ``progress(step)`` is called before each fold's training and scoring.
    """
    folds = np.asarray(folds)
    n, k = len(prompts), int(folds.max()) + 1
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    say = progress or (lambda step: None)
    enc = load(cfg)
    ids_c = encode(enc, prompts, chosen, cfg.max_length)
    ids_r = encode(enc, prompts, rejected, cfg.max_length)
    margins = np.empty(n, dtype=np.float64)
    for fold in range(k):
        seed = cfg.seed + fold
        pool = np.flatnonzero((folds != fold) & (weights > 0))
        if not len(pool):
            raise ValueError(f"fold {fold}: no training pairs in the other folds")
        if cfg.max_train_pairs is not None and len(pool) > cfg.max_train_pairs:
            pool = np.sort(np.random.default_rng(seed).choice(pool, cfg.max_train_pairs, replace=False))
        held = np.flatnonzero(folds == fold)
        say(f"cross fold {fold + 1}/{k}: fine-tuning on {len(pool)} pairs")
        model = new_model(enc, seed)
        train(enc, model, [ids_c[i] for i in pool], [ids_r[i] for i in pool], weights[pool], cfg, seed)
        say(f"cross fold {fold + 1}/{k}: scoring {len(held)} pairs")
        rewards = score(enc, model, [ids_c[i] for i in held] + [ids_r[i] for i in held], 2 * cfg.batch_size)
        margins[held] = rewards[: len(held)] - rewards[len(held):]
    return margins


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of pair indices, in random order, each of pairs of similar length.

    A batch is padded to its longest sequence, and a random batch of eight pairs nearly always holds one
    cut at ``max_length``, so most of a CPU's time would go to padding. Pairs are shuffled, cut into
    pools of ``_POOL`` batches, sorted by length within a pool and batched; then the batches are shuffled.
    """
    order = rng.permutation(len(lengths))
    pool = _POOL * batch_size
    pools = [order[i:i + pool] for i in range(0, len(order), pool)]
    sorted_order = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in pools])
    batches = [sorted_order[i:i + batch_size] for i in range(0, len(sorted_order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _rewards(enc: Encoder, model, ids: list[list[int]]):
    """The one logit per sequence of a padded batch."""
    inputs = enc.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(enc.device)
    return model(**inputs).logits[:, 0].float()
