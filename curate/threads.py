"""Thread caps for torch, onnxruntime and tokenizers: never more threads than the cores this process may use.

Each library sizes its pools from the machine's core count, not from the CPU set the
process is allowed (containers, ``taskset``), and three pools of that size on the same
cores wait on each other. The library's defaults therefore go through here. The heavy
libraries are imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import os
from typing import Any

TOKENIZER_ENV = "RAYON_NUM_THREADS"
"""The pool size the Rust ``tokenizers`` library reads (once, when it first parallelizes)."""


def cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def capped(threads: int | None = None) -> int:
    """``threads`` (default: all cores), never more than the cores and never under 1."""
    return max(1, min(threads or cores(), cores()))


def cap_tokenizers() -> None:
    """Cap the tokenizers' pool at the cores, unless the environment already sets it; call before tokenizing."""
    os.environ.setdefault(TOKENIZER_ENV, str(cores()))


def cap_torch(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``capped(threads)`` and cap its inter-op pool; returns the intra-op count."""
    import torch

    cap_tokenizers()
    n = capped(threads)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    if torch.get_num_interop_threads() > cores():
        try:
            torch.set_num_interop_threads(cores())
        except RuntimeError:  # only settable before torch's first parallel work; then it stays as it is
            pass
    return n


def cap_onnxruntime(options: Any, threads: int | None = None) -> Any:
    """An onnxruntime ``SessionOptions`` with ``capped(threads)`` intra-op threads, one inter-op thread and no
    spinning (a spinning pool on cores shared with other processes burns the time the work needs)."""
    cap_tokenizers()
    options.intra_op_num_threads = capped(threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
