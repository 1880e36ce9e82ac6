"""What every benchmark result file states about where it came from: command, commit, machine, load.

Ratios hold across machines, absolute seconds do not, so each result names the
cores, memory and CPU it ran on, the exact command that produced it, the commit
(and whether the working tree differed from it), and the load average before and
after the run, all read by the script itself.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command_line() -> str:
    """The exact command that produced the result, with the interpreter relative to the repo when inside it."""
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    argv = list(sys.argv)
    if argv and Path(argv[0]).is_absolute() and Path(argv[0]).is_relative_to(ROOT):
        argv[0] = str(Path(argv[0]).relative_to(ROOT))
    return shlex.join([str(python), *argv])


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


def modified_files() -> list[str] | None:
    """Tracked files whose working copy differs from the commit (``git status``); None when git cannot say."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted(line[3:] for line in out.splitlines() if line.strip())


def commit() -> str:
    """The commit, and whether (and where) the working tree that ran differs from it."""
    head = git_head() or "unknown commit"
    changed = modified_files()
    if changed is None:
        return f"{head} (working tree state unknown)"
    changed = [c for c in changed if not c.startswith("benchmarks/results/")]  # results do not change what runs
    if not changed:
        return f"{head} (working tree as committed, results aside)"
    groups: dict[str, list[str]] = {}
    for path in changed:
        groups.setdefault(path.split("/", 1)[0] if "/" in path else path, []).append(path)
    shown = "; ".join(f"`{g}/` {len(v)}" if len(v) > 1 or v[0] != g else f"`{g}`" for g, v in sorted(groups.items()))
    return f"{head} plus uncommitted changes to {len(changed)} tracked file{'s' if len(changed) != 1 else ''} ({shown})"


# The commit and working-tree state when the benchmark started (this module is imported at its start):
# what the code that ran came from, even if a commit lands while it runs.
_COMMIT_AT_START = commit()


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def format_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.1f}" for x in load)


def header(load_before: tuple[float, float, float], load_after: tuple[float, float, float] | None = None) -> list[str]:
    """Markdown bullet lines: command, date, commit, machine, software, load average (1 / 5 / 15 min) before and after."""
    import importlib.metadata as md

    if load_after is None:
        load_after = load_average()
    versions = [f"Python {platform.python_version()}"]
    for dist in ("duckdb", "numpy", "onnxruntime", "openai", "httpx"):
        try:
            versions.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            pass
    return [
        f"- command: `{command_line()}`",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- commit (at start): {_COMMIT_AT_START}" + ("" if commit() == _COMMIT_AT_START else f"; at end: {commit()}"),
        f"- machine: {machine()}",
        f"- software: {', '.join(versions)}",
        f"- load average (1 / 5 / 15 min): {format_load(load_before)} at start, {format_load(load_after)} at end "
        f"on {len(os.sched_getaffinity(0))} cores",
    ]


def _read_lines(path) -> list[str]:
    try:
        return Path(path).read_text(errors="ignore").splitlines()
    except OSError:
        return []
