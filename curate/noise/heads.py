"""Many small reward heads trained at once in torch: the one module of ``noise`` that needs torch.

Torch is imported inside the functions, so ``import curate.noise`` (and every
``curate`` command) stays light; the first fit pays for the import. The heads are
a plain object holding their parameter tensors rather than a ``torch.nn.Module``
subclass, which could only be defined once torch is imported. Parameters are
created and handed to Adam in the same order a module would register them, so
the same seed gives the same margins.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from curate.noise.config import RMConfig


class Heads:
    """G independent reward heads evaluated at once: linear (r = w.phi) or one tanh layer (r = v.tanh(A phi + b))."""

    def __init__(self, groups: int, dim: int, hidden: int, generator: torch.Generator) -> None:
        import torch

        self.hidden = hidden
        if hidden:
            self.a = torch.nn.Parameter(torch.randn(groups, dim, hidden, generator=generator) / math.sqrt(dim))
            self.b = torch.nn.Parameter(torch.zeros(groups, 1, hidden))
            self.v = torch.nn.Parameter(torch.randn(groups, hidden, generator=generator) / math.sqrt(hidden))
        else:
            self.w = torch.nn.Parameter(torch.randn(groups, dim, generator=generator) * 0.01)

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
        peer_ratio: float | None = None, signs: np.ndarray | None = None) -> Heads:
    """Train G heads at once; ``weights`` (G, n) are each head's per-pair training weights.

    With ``peer_ratio``, heads 2j and 2j+1 are peers: in each batch a head trains only on the (1 - ratio_t)
    share of its pairs that its peer finds easiest (smallest loss); ratio_t ramps linearly from 0 to
    ``peer_ratio`` over the first ``cfg.peer_ramp`` of the steps.
    """
    import torch

    from curate.threads import cap_torch

    cap_torch(cfg.threads)
    generator = torch.Generator().manual_seed(seed)
    xc, xr = torch.from_numpy(np.ascontiguousarray(phi_c)), torch.from_numpy(np.ascontiguousarray(phi_r))
    if not cfg.hidden:
        xc, xr = xc - xr, None  # a linear margin only needs the difference
    w = torch.from_numpy(weights.astype(np.float32))
    sg = None if signs is None else torch.from_numpy(signs.astype(np.float32))  # (G, n): -1 trains the pair reversed
    groups, n = w.shape
    heads = Heads(groups, xc.shape[1], cfg.hidden, generator)
    optimizer = torch.optim.Adam(heads.parameters(), lr=cfg.lr)
    batch = cfg.batch_size or n
    steps_per_epoch = math.ceil(n / batch)
    total = cfg.epochs * steps_per_epoch
    partner = torch.arange(groups) ^ 1
    step = 0
    for _ in range(cfg.epochs):
        order = torch.randperm(n, generator=generator) if batch < n else None
        for start in range(0, n, batch):
            if order is None:
                bw, bs, margins = w, sg, heads(xc, xr)
            else:
                idx = order[start : start + batch]
                bw, margins = w[:, idx], heads(xc[idx], None if xr is None else xr[idx])  # margins: (b, G)
                bs = None if sg is None else sg[:, idx]
            margins = margins.T if bs is None else margins.T * bs  # (G, b), on each head's labels
            losses = torch.nn.functional.softplus(-margins)
            if peer_ratio:
                ratio = peer_ratio * min(1.0, step / max(1.0, cfg.peer_ramp * total))
                bw = bw * small_loss_share(losses.detach()[partner], bw, ratio)  # my pairs, as my peer ranks them
            loss = ((losses * bw).sum(dim=1) / bw.sum(dim=1).clamp_min(1e-6)).sum() + cfg.weight_decay * heads.penalty().sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
    return heads


def small_loss_share(losses: torch.Tensor, weights: torch.Tensor, ratio: float) -> torch.Tensor:
    """Per group, a 0/1 mask of the (1 - ratio) share of its training pairs with the smallest loss."""
    import torch

    member = weights > 0
    keep = torch.ceil(member.sum(dim=1, keepdim=True) * (1 - ratio))
    ranked = torch.where(member, losses, torch.full_like(losses, math.inf)).argsort(dim=1).argsort(dim=1)
    return ((ranked < keep) & member).float()
