"""The package's shape (docs/architecture.md): the import-linter contracts hold, and no module
takes part in an import cycle, function-level imports included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import deltaprop as dp

grimp = pytest.importorskip("grimp", reason="import-linter (make test installs it)")

ROOT = Path(__file__).resolve().parents[1]


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if not w.startswith("deltaprop"):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for module in sorted(graph.modules):
        if module.startswith("deltaprop") and module not in index:
            visit(module)
    return found


def test_no_import_cycles():
    graph = grimp.build_graph("deltaprop", include_external_packages=False)
    assert _cycles(graph) == []


def test_engine_and_cli_folders_and_few_loose_modules():
    pkg = Path(dp.__file__).parent
    assert (pkg / "engine" / "network.py").exists() and (pkg / "cli" / "main.py").exists()
    loose = sorted(p.name for p in pkg.glob("*.py"))
    assert len(loose) <= 10, loose


@pytest.mark.skipif(shutil.which("lint-imports") is None and not (
    Path(sys.executable).parent / "lint-imports").exists(), reason="import-linter not installed")
def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    res = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
