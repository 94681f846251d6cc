"""The pipeline's one-way import flow: the layers contract of pyproject.toml holds and no module imports itself
back through others (no import circles), lazy imports inside functions included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")
pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]


def import_cycles(graph) -> list[list[str]]:
    """The strongly connected groups of two or more modules of an import graph (each one is an import circle)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(start: str) -> None:  # iterative Tarjan: the graph is deep enough to worry recursion limits
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    out.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return out


def test_no_module_imports_itself_back():
    graph = grimp.build_graph("sftlab", include_external_packages=False)
    assert import_cycles(graph) == []
    # the check itself finds a circle when there is one
    graph.add_import(importer="sftlab.task_adapters.base", imported="sftlab.data.builder")
    graph.add_import(importer="sftlab.data.builder", imported="sftlab.task_adapters.base")
    assert any({"sftlab.data.builder", "sftlab.task_adapters.base"} <= set(g) for g in import_cycles(graph))


def test_the_layers_contract_holds():
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
    finally:
        os.chdir(cwd)


def test_only_the_results_store_talks_sql():
    """No module but sftlab.store opens a database or holds an SQL statement (errors.py may read sqlite3's error
    codes to name a full disk)."""
    import ast
    import re

    statement = re.compile(r"^\s*(SELECT .* FROM|INSERT (OR \w+ )?INTO|DELETE FROM|UPDATE \w+ SET|CREATE (TABLE|INDEX)|PRAGMA )")
    offenders = []
    for path in sorted((ROOT / "sftlab").rglob("*.py")):
        if path.name == "store.py" and path.parent.name == "sftlab":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "connect" and getattr(node.value, "id", "") == "sqlite3":
                offenders.append(f"{path.name}: sqlite3.connect")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and statement.match(node.value):
                offenders.append(f"{path.name}: {node.value[:40]!r}")
    assert offenders == []
