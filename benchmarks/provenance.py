"""What every benchmark result file states about where it came from: the command and the machine.

Ratios hold across machines, absolute seconds do not, so each result names the
cores, memory and CPU it ran on, and the exact command that produced it.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command_line() -> str:
    """The exact command that produced the result, with the interpreter relative to the repo when inside it."""
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    return shlex.join([str(python), *sys.argv])


def machine() -> str:
    """Cores, RAM and CPU model."""
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next((line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return f"{len(os.sched_getaffinity(0))} cores (nproc), {ram_gib:.1f} GiB RAM, {cpu or 'unknown CPU'}, {platform.system()} {platform.release()}"


def git_head() -> str | None:
    """The checked-out commit, read from .git without running git (the working tree may differ from it)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:10]
        ref = head.removeprefix("ref: ")
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:10]
        for line in _read_lines(git / "packed-refs"):
            if line.endswith(" " + ref):
                return line.split()[0][:10]
    except OSError:
        pass
    return None


def _read_lines(path) -> list[str]:
    try:
        return Path(path).read_text(errors="ignore").splitlines()
    except OSError:
        return []
