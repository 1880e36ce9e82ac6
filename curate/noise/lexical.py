"""A second feature view of each response, from its raw text: the peer that reviews the embedding heads.

Peer review (``rm.peer_review``) only helps when the two reward models make
different mistakes, and two heads on the same sentence embeddings mostly make the
same ones. This view sees the words instead: hashed unigrams and bigrams of the
response (sublinear tf, L2-normalized), the share of the response's words that
the prompt already has, its length, how many refusal phrases it contains
(``checks.refusal_markers``, counted as the SQL checks count them) and its
question marks. It is numpy only and vectorized over all texts at once, so it
is cheap enough to recompute on every run.

Every scaling is fitted over chosen and rejected responses together, with
statistics that are symmetric in the two sides (the mean of the two sides'
means), so swapping every pair swaps the two matrices exactly and so negates
every margin trained on them.
"""

from __future__ import annotations

import re
import zlib
from itertools import chain

import numpy as np

from curate.noise import checks

BUCKETS = 2**12
"""Hash buckets shared by the word unigrams and bigrams."""

DENSE = ("prompt_overlap", "log_chars", "log_refusals", "log_questions")
"""The text statistics after the hashed buckets, in column order."""

_WORD = re.compile(r"[a-z0-9']+")


def features(prompts: list[str], chosen: list[str], rejected: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-response feature matrices ``(phi_c, phi_r)``, float32, shape (pairs, BUCKETS + len(DENSE)).

    The bag of words is scaled by one number (its root mean square per bucket, pooled over both sides), not per
    bucket, so a bucket that only a handful of responses hit is not blown up; each dense statistic is standardized.
    """
    n = len(prompts)
    texts = [*chosen, *rejected]
    words, doc = _tokenize([*prompts, *texts])
    response = doc >= n
    words, rdoc, pwords, pdoc = words[response], doc[response] - n, words[~response], doc[~response]
    span = words.max(initial=0) + 1
    seen = np.isin(rdoc % n * span + words, pdoc * span + pwords)  # the word occurs in the pair's prompt
    overlap = np.bincount(rdoc, weights=seen, minlength=2 * n) / np.maximum(np.bincount(rdoc, minlength=2 * n), 1)
    dense = np.stack([overlap, np.log1p([len(t) for t in texts]), np.log1p(_refusals(texts)),
                      np.log1p([t.count("?") for t in texts])], axis=1)
    dense_c, dense_r = dense[:n], dense[n:]
    mean, std = (dense_c.mean(axis=0) + dense_r.mean(axis=0)) / 2, _pooled_std(dense_c, dense_r) + 1e-6
    out = np.zeros((2 * n, BUCKETS + len(DENSE)), dtype=np.float32)
    cells, values = _hashed_bag(words, rdoc)
    rms = np.sqrt(((values[cells // BUCKETS < n] ** 2).sum() + (values[cells // BUCKETS >= n] ** 2).sum()) / (2 * n * BUCKETS))
    out[:, :BUCKETS].flat[cells] = values / (rms + 1e-12)
    out[:, BUCKETS:] = (dense - mean) / std
    return out[:n], out[n:]


def _tokenize(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' words as crc32 hashes (a stable id per word) and the index of the text each comes from."""
    per_text = [_WORD.findall(t.lower()) for t in texts]
    ids = {w: zlib.crc32(w.encode()) for w in dict.fromkeys(chain.from_iterable(per_text))}
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(texts))
    words = np.fromiter(map(ids.__getitem__, chain.from_iterable(per_text)), dtype=np.int64, count=int(lengths.sum()))
    return words, np.repeat(np.arange(len(texts)), lengths)


def _hashed_bag(words: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sublinear-tf counts of each text's unigrams and bigrams over BUCKETS hashes, rows L2-normalized.

    Returned sparse: flat cells ``doc * BUCKETS + bucket`` and their values."""
    same = doc[1:] == doc[:-1]
    bigrams = (words[:-1][same] * 0x9E3779B1 + words[1:][same]) >> 7  # mixed, so bigrams spread over other buckets
    keys = np.concatenate([doc * BUCKETS + words % BUCKETS, doc[1:][same] * BUCKETS + bigrams % BUCKETS])
    cells, counts = np.unique(keys, return_counts=True)
    tf = 1 + np.log(counts)
    row = cells // BUCKETS
    return cells, tf / np.sqrt(np.bincount(row, weights=tf**2))[row]


def _refusals(texts: list[str]) -> np.ndarray:
    """How many of the refusal phrases each text contains (as the SQL checks count them: presence, not repeats)."""
    joined = "\x00".join(texts).lower()
    starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    hits = []
    for code, marker in enumerate(checks.refusal_markers()):
        at = joined.find(marker)
        while at >= 0:
            hits.append(code * len(texts) + np.searchsorted(starts, at, side="right") - 1)
            at = joined.find(marker, at + 1)
    return np.bincount(np.unique(np.array(hits, dtype=np.int64)) % len(texts), minlength=len(texts))


def _pooled_std(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-column std of the two sides pooled, computed so that it is exactly the same with the sides swapped."""
    mean = (a.mean(axis=0) + b.mean(axis=0)) / 2
    return np.sqrt((((a - mean) ** 2).mean(axis=0) + ((b - mean) ** 2).mean(axis=0)) / 2)
