"""The package tree follows the data flow: no import against it, no import cycle.

The layers are the import-linter contract in pyproject.toml (store <- ingest <- providers <-
statistics <- drift <- reports <- schedules, demo <- web <- cli; `monitor.core` below all).
`lint-imports` checks that contract; the cycle check and the check of the checker itself use
the same import graph (grimp, which import-linter is built on).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
LAYERS = list(CONFIG["contracts"][0]["layers"])


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*CONFIG["root_packages"])


def layer_of(module: str) -> int | None:
    """Index of the layer a module belongs to (0 = top), or None outside every layer."""
    for index, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return index
    return None


def imports_against_the_flow(graph) -> list[str]:
    """`importer -> imported` for every import of a module from a layer above its own."""
    found = []
    for importer in sorted(graph.modules):
        own = layer_of(importer)
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            other = layer_of(imported)
            if own is not None and other is not None and other < own:
                found.append(f"{importer} -> {imported}")
    return found


def import_cycles(graph) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_every_module_but_the_package_entry_points_is_in_a_layer(graph):
    outside = sorted(m for m in graph.modules if layer_of(m) is None)
    assert outside == ["monitor", "monitor.__main__"]


def test_no_import_runs_against_the_data_flow(graph):
    assert imports_against_the_flow(graph) == []


def test_no_import_cycles(graph):
    assert import_cycles(graph) == []


def test_the_checks_catch_an_upward_import_and_a_cycle(graph):
    graph.add_import(importer="monitor.store.models", imported="reports.charts")
    graph.add_import(importer="reports.charts", imported="monitor.store.models")
    try:
        assert imports_against_the_flow(graph) == ["monitor.store.models -> reports.charts"]
        cycles = import_cycles(graph)
        assert any({"monitor.store.models", "reports.charts"} <= set(group) for group in cycles)
    finally:
        graph.remove_import(importer="monitor.store.models", imported="reports.charts")
        graph.remove_import(importer="reports.charts", imported="monitor.store.models")


def test_the_import_linter_contract_is_kept():
    # In a child process: import-linter reconfigures logging, which later tests rely on.
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, "
        "no_cache=True, no_logo=True))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 kept, 0 broken" in result.stdout
