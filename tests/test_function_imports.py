"""Imports inside functions are kept for a reason: a heavy or optional library, or a module that pulls one.

A function-level import of a module the file already imports at the top, of the standard library, or of sftlab's
lowest layer (errors, io, settings, stats) has none; and an `except ImportError` around an sftlab import
would hide a real bug (every stage is part of the package), so none may exist.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sftlab"
# sftlab.yamlfile is not among them: it loads PyYAML, which `sftlab --help` need not pay for.
LOWEST_LAYER = {"sftlab.errors", "sftlab.io", "sftlab.settings", "sftlab.stats"}
# Standard-library imports kept inside a function on purpose: fcntl exists on POSIX only, and sqlite3 is
# imported by sftlab.store alone at module level (tests/test_import_layers.py), errors.py only recognises its errors.
KEPT_STDLIB = {("errors.py", "sqlite3"), ("io.py", "fcntl"), ("experiment/runner.py", "fcntl"),
               ("backends/hf.py", "inspect")}  # hf.py: being reworked for decoding speed (issue 25); hoist there


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_no_function_imports_without_a_reason():
    pointless = []
    for rel, tree in _modules():
        top = {name for node in tree.body for name in _imported(node)}
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                for name in _imported(node):
                    stdlib = name.split(".")[0] in sys.stdlib_module_names and (rel, name) not in KEPT_STDLIB
                    if name in top or stdlib or name in LOWEST_LAYER:
                        pointless.append(f"{rel}:{node.lineno} {name}")
    assert pointless == []


def test_no_sftlab_import_is_optional():
    guarded = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if not any("ImportError" in c or "ModuleNotFoundError" in c for c in caught):
                continue
            names = [name for stmt in node.body for sub in ast.walk(stmt) for name in _imported(sub)]
            guarded += [f"{rel}:{node.lineno} {name}" for name in names if name.split(".")[0] == "sftlab"]
    assert guarded == []
