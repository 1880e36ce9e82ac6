"""Many small reward heads trained at once in torch: the one module of ``noise`` that needs torch.

Torch is imported inside the functions, so ``import curate.noise`` (and every
``curate`` command) stays light; the first fit pays for the import. The heads are
a plain object holding their parameter tensors rather than a ``torch.nn.Module``
subclass, which could only be defined once torch is imported. Parameters are
created and handed to Adam in the same order a module would register them, so
the same seed gives the same margins.

``fit`` trains one set of G heads on one feature view (cross-fitting, ensembles,
relabeled variants). ``fit_peers`` trains two sets of G heads, one per view,
side by side in one loop for peer review: the same mini-batches, one optimizer,
and in every batch each set trains on the pairs its peer keeps (``small_loss_share``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from curate.noise.config import RMConfig


class Heads:
    """G independent reward heads evaluated at once: linear (r = w.phi) or one tanh layer (r = v.tanh(A phi + b)).

    ``zero_output`` starts the output weights (``w``, or ``v``) at 0 instead of small random values: then training
    on every pair swapped runs the exact mirror image (output weights negated), so the margins are exactly negated.
    """

    def __init__(self, groups: int, dim: int, hidden: int, generator: torch.Generator, zero_output: bool = False) -> None:
        import torch

        self.hidden = hidden
        if hidden:
            self.a = torch.nn.Parameter(torch.randn(groups, dim, hidden, generator=generator) / math.sqrt(dim))
            self.b = torch.nn.Parameter(torch.zeros(groups, 1, hidden))
            v = torch.zeros(groups, hidden) if zero_output else torch.randn(groups, hidden, generator=generator) / math.sqrt(hidden)
            self.v = torch.nn.Parameter(v)
        else:
            w = torch.zeros(groups, dim) if zero_output else torch.randn(groups, dim, generator=generator) * 0.01
            self.w = torch.nn.Parameter(w)

    def parameters(self) -> list[torch.Tensor]:
        return [self.a, self.b, self.v] if self.hidden else [self.w]

    def __call__(self, phi_c: torch.Tensor, phi_r: torch.Tensor | None) -> torch.Tensor:
        """Margins, shape (n, G); a linear head takes the feature difference alone (``phi_r`` None)."""
        import torch

        if not self.hidden:
            return (phi_c if phi_r is None else phi_c - phi_r) @ self.w.T
        hc = torch.tanh(torch.einsum("nd,gdh->gnh", phi_c, self.a) + self.b)
        hr = torch.tanh(torch.einsum("nd,gdh->gnh", phi_r, self.a) + self.b)
        return torch.einsum("gnh,gh->ng", hc - hr, self.v)

    def penalty(self) -> torch.Tensor:
        """Per-group squared norm of the weights (biases excluded)."""
        if not self.hidden:
            return (self.w**2).sum(dim=1)
        return (self.a**2).sum(dim=(1, 2)) + (self.v**2).sum(dim=1)

    def margins(self, phi_c: np.ndarray, phi_r: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self(torch.from_numpy(phi_c), torch.from_numpy(phi_r)).numpy().astype(np.float64)


def fit(phi_c: np.ndarray, phi_r: np.ndarray, weights: np.ndarray, cfg: RMConfig, *, seed: int,
        signs: np.ndarray | None = None, on_epoch: Callable[[Heads], None] | None = None,
        preferences: np.ndarray | None = None) -> Heads:
    """Train G heads at once; ``weights`` (G, n) are each head's per-pair training weights.

    ``signs`` (G, n), if given, trains a head on a pair reversed where it is -1 (a relabeled variant).
    ``preferences`` (n,), if given, is each pair's soft label P(chosen is preferred): the loss becomes the
    soft-label Bradley-Terry loss ``p softplus(-m) + (1 - p) softplus(m)``, so a tie (0.5) pulls its margin to 0;
    at p = 1 it is the plain loss. None (the default) trains exactly as before.
    ``on_epoch(heads)``, if given, is called after every epoch (training dynamics record the margins there).
    """
    import torch

    generator = _start(cfg, seed)
    view = _view(phi_c, phi_r, cfg.hidden)
    w = torch.from_numpy(weights.astype(np.float32))
    sg = None if signs is None else torch.from_numpy(signs.astype(np.float32))
    pf = None if preferences is None else torch.from_numpy(np.asarray(preferences, np.float32))
    heads = Heads(len(w), view[0].shape[1], cfg.hidden, generator)
    optimizer = torch.optim.Adam(heads.parameters(), lr=cfg.lr)
    for _ in range(cfg.epochs):
        for idx in _epoch(len(phi_c), cfg.batch_size, generator):
            bw = w if idx is None else w[:, idx]
            bs = sg if sg is None or idx is None else sg[:, idx]
            margins = _margins(heads, view, idx)
            signed = margins if bs is None else margins * bs
            losses = torch.nn.functional.softplus(-signed)
            if pf is not None:
                bp = pf if idx is None else pf[idx]
                losses = bp * losses + (1 - bp) * torch.nn.functional.softplus(signed)
            _step(optimizer, _objective(losses, bw, heads, cfg.weight_decay))
        if on_epoch is not None:
            on_epoch(heads)
    return heads


def fit_peers(views: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], weights: np.ndarray,
              cfg: RMConfig, *, seed: int, ratio: float, exchange: bool = True) -> tuple[Heads, Heads]:
    """Train two sets of G heads, one per feature view, together; ``weights`` (G, n) are shared by both sets.

    Every step draws one mini-batch (``cfg.peer_batch_size``) for both. In it, each head ranks its group's pairs
    by its own loss and keeps the (1 - ratio_t) share with the smallest loss; with ``exchange`` each head then
    trains on its peer's kept share (head g of one view with head g of the other), without it on its own (the
    ablation). ratio_t ramps linearly from 0 to ``ratio`` over the first ``cfg.peer_ramp`` of the steps, and
    the learning rate decays from ``cfg.lr`` to 0 on a cosine, so the small-batch steps settle instead of jittering.
    Output weights start at 0 (``Heads(zero_output=True)``), so swapping every pair negates every margin (exactly,
    for linear heads; a tanh layer's float rounding drifts by about 1e-6 of the margins).
    """
    import torch

    generator = _start(cfg, seed)
    data = [_view(phi_c, phi_r, cfg.hidden) for phi_c, phi_r in views]
    w = torch.from_numpy(weights.astype(np.float32))
    peers = [Heads(len(w), view[0].shape[1], cfg.hidden, generator, zero_output=True) for view in data]
    optimizer = torch.optim.Adam([p for heads in peers for p in heads.parameters()], lr=cfg.lr)
    n = len(views[0][0])
    total = cfg.peer_epochs * math.ceil(n / min(cfg.peer_batch_size, n))
    for step, idx in enumerate(_batches(n, cfg.peer_batch_size, cfg.peer_epochs, generator)):
        bw = w if idx is None else w[:, idx]
        losses = [torch.nn.functional.softplus(-_margins(heads, view, idx)) for heads, view in zip(peers, data)]
        ratio_t = ratio * min(1.0, step / max(1.0, cfg.peer_ramp * total))
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / total))
        kept = [small_loss_share(loss.detach(), bw, ratio_t) for loss in losses]
        if exchange:
            kept.reverse()  # each head trains on the share its peer keeps
        _step(optimizer, sum(_objective(loss, bw * keep, heads, cfg.weight_decay) for loss, keep, heads in zip(losses, kept, peers)))
    return peers[0], peers[1]


def small_loss_share(losses: torch.Tensor, weights: torch.Tensor, ratio: float) -> torch.Tensor:
    """Per group, a 0/1 mask of the (1 - ratio) share of its training pairs with the smallest loss."""
    import torch

    member = weights > 0
    keep = torch.ceil(member.sum(dim=1, keepdim=True) * (1 - ratio))
    ranked = torch.where(member, losses, torch.full_like(losses, math.inf)).argsort(dim=1).argsort(dim=1)
    return ((ranked < keep) & member).float()


def _start(cfg: RMConfig, seed: int) -> torch.Generator:
    import torch

    from curate.threads import cap_torch

    cap_torch(cfg.threads)
    return torch.Generator().manual_seed(seed)


def _view(phi_c: np.ndarray, phi_r: np.ndarray, hidden: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The tensors a head reads: a linear margin only needs the feature difference."""
    import torch

    xc, xr = torch.from_numpy(np.ascontiguousarray(phi_c)), torch.from_numpy(np.ascontiguousarray(phi_r))
    return (xc, xr) if hidden else (xc - xr, None)


def _batches(n: int, batch: int, epochs: int, generator: torch.Generator):
    """Each step's pair indices over ``epochs`` epochs (``_epoch``)."""
    for _ in range(epochs):
        yield from _epoch(n, batch, generator)


def _epoch(n: int, batch: int, generator: torch.Generator):
    """One epoch's steps: a fresh permutation cut into batches, or None (all pairs) when full-batch."""
    import torch

    batch = batch or n
    order = torch.randperm(n, generator=generator) if batch < n else None
    for start in range(0, n, batch):
        yield None if order is None else order[start : start + batch]


def _margins(heads: Heads, view: tuple[torch.Tensor, torch.Tensor | None], idx: torch.Tensor | None) -> torch.Tensor:
    """The batch's margins, shape (G, b)."""
    xc, xr = view
    if idx is None:
        return heads(xc, xr).T
    return heads(xc[idx], None if xr is None else xr[idx]).T


def _objective(losses: torch.Tensor, weights: torch.Tensor, heads: Heads, weight_decay: float) -> torch.Tensor:
    """Each group's weighted mean loss plus its weight penalty, summed over the groups (which stay independent)."""
    return ((losses * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-6)).sum() + weight_decay * heads.penalty().sum()


def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
