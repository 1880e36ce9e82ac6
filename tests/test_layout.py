"""The package layout holds: no import cycle, no stage importing a stage above it, light CLI imports.

The import graph is read from the source with ``ast`` (nothing is imported), so
a violation fails here with the offending edge named, before it shows up as a
half-initialized module or a slow ``curate`` command.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "curate"

FOUNDATION = ("curate", "curate.errors", "curate.ids", "curate.config", "curate.assets", "curate.threads", "curate.sequence", "curate.servers", "curate.stage",
              "curate.warehouse", "curate.query", "curate.lineage")
PIPELINE = ("llm", "ingest", "judge", "embed", "rubrics", "augment", "noise", "annotate", "release", "publish", "evaluate", "pipeline", "cli")
"""Stage packages in pipeline order, after the foundation: a module may import its own layer and those below."""

HEAVY = ("torch", "transformers", "onnxruntime", "sentence_transformers", "trl", "openai")
"""What ``import curate.cli`` and the ingest, sql and stats commands must run without (the ``ml`` extra)."""


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a curate module, or the nearest curate package of an imported name)
    names: tuple[str, ...]  # for ``from target import a, b``: the names that are not modules
    line: int
    module_level: bool  # executed on import (not inside a function, not under ``if TYPE_CHECKING:``)

    def __str__(self) -> str:
        where = "" if self.module_level else " (inside a function or TYPE_CHECKING)"
        return f"{self.source} imports {self.target} ({_path(self.source)}:{self.line}){where}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _path(module: str) -> str:
    return str(MODULES[module].relative_to(ROOT))


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
PACKAGES = {m for m, p in MODULES.items() if p.name == "__init__.py"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, module_level: bool):
    """Import statements below ``node``, each with whether it runs when the module is imported."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, module_level
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, False)
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), False)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), module_level)
        else:
            yield from _walk(child, module_level)


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if module in PACKAGES else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    """Every import of a curate module in ``module``'s source."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found = []
    for node, module_level in _walk(tree, True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    found.append(Import(module, alias.name, (), node.lineno, module_level))
            continue
        base = _absolute(module, node)
        if base not in MODULES:
            continue
        submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
        names = tuple(a.name for a in node.names if f"{base}.{a.name}" not in MODULES)
        found += [Import(module, sub, (), node.lineno, module_level) for sub in submodules]
        if names:
            found.append(Import(module, base, names, node.lineno, module_level))
    return tuple(found)


def _packages_run_by(module: str, target: str) -> list[str]:
    """What importing ``target`` from ``module`` executes: the target and each enclosing package's
    ``__init__`` not already being imported (an ancestor of ``module`` is)."""
    parts = target.split(".")
    chain = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [m for m in chain if not module.startswith(m + ".") and m != module]


def layer(module: str) -> int:
    if module in FOUNDATION:
        return 0
    package = module.split(".")[1]
    if package not in PIPELINE:
        raise AssertionError(f"{module} is in no known layer: add package {package!r} to PIPELINE "
                             "(tests/test_layout.py) at its place in pipeline order, or to FOUNDATION")
    return 1 + PIPELINE.index(package)


def _layer_name(module: str) -> str:
    return "foundation" if layer(module) == 0 else module.split(".")[1]


def _cycle() -> list[str] | None:
    """One cycle of module-level imports, as the modules along it, if there is one."""
    graph = {m: sorted({t for i in imports_of(m) if i.module_level for t in _packages_run_by(m, i.target)})
             for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for module in MODULES:
        if module not in state and (found := visit(module)):
            return found
    return None


def test_layout_has_no_import_cycle():
    cycle = _cycle()
    if cycle:
        edges = [next(str(i) + ("" if i.target == b else f", which runs {b}")
                      for i in imports_of(a) if i.module_level and b in _packages_run_by(a, i.target))
                 for a, b in zip(cycle, cycle[1:])]
        pytest.fail("import cycle " + " -> ".join(cycle) + ":\n  " + "\n  ".join(edges))


def test_layout_no_stage_imports_a_stage_above_it():
    upward = [f"{i}: {_layer_name(i.source)} is below {_layer_name(i.target)}"
              for m in MODULES for i in imports_of(m) if layer(i.target) > layer(m)]
    assert not upward, "imports against pipeline order " + " < ".join(("foundation", *PIPELINE)) + ":\n  " + "\n  ".join(upward)


def test_layout_modules_do_not_import_their_own_package_reexports():
    """Inside a package, siblings are imported by module: its ``__init__`` is still half-run while they load.
    (A package's ``__main__`` is the exception: it runs once the package is imported, and no ``__init__`` imports it.)"""
    reexports = [f"{i}: names {', '.join(i.names)} from its own package's __init__; import them from their module"
                 for m in MODULES if not m.endswith(".__main__") for i in imports_of(m)
                 if i.names and i.target in PACKAGES and m.startswith(i.target + ".")]
    assert not reexports, "\n  ".join(["own-package re-exports imported:", *reexports])


GUARD = textwrap.dedent('''
    import importlib.abc, sys, time

    BLOCKED = set(sys.argv[1].split(","))

    class Guard(importlib.abc.MetaPathFinder):
        """Acts as if the ml extra were not installed: importing any of BLOCKED fails."""

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"import guard: {name} is not installed here", name=name)
            return None

    sys.meta_path.insert(0, Guard())
    started = time.perf_counter()
    import curate.cli
    print(f"import curate.cli: {time.perf_counter() - started:.2f}s (under the guard)", file=sys.stderr)

    warehouse, example = sys.argv[2], sys.argv[3]
    commands = [["init"], ["ingest", example], ["sql", "select 1"], ["stats"]]
    for command in commands:
        try:
            curate.cli.app([*command, "--warehouse", warehouse], prog_name="curate")
        except SystemExit as exc:
            code = exc.code or 0
        else:
            code = 0
        print(f"curate {' '.join(command)}: exit {code}", file=sys.stderr)
        if code:
            sys.exit(f"curate {' '.join(command)} exited {code}")
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    if loaded:
        sys.exit(f"heavy modules loaded: {loaded}")
''')


def test_layout_cli_runs_without_the_ml_extra(tmp_path):
    example = PACKAGE / "examples" / "demo" / "chat_pairs.jsonl"
    done = subprocess.run([sys.executable, "-c", GUARD, ",".join(HEAVY), str(tmp_path / "wh"), str(example)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr[-4000:]
    print(done.stderr)


def test_layout_reports_the_import_time_of_the_cli():
    """Measured in a fresh interpreter; printed, not asserted (a loaded machine says little about an idle one)."""
    code = "import time; t = time.perf_counter(); import curate.cli; print(f'{time.perf_counter() - t:.2f}')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    print(f"import curate.cli: {done.stdout.strip()}s in a fresh interpreter")

