"""Every test checks something it states: an assert, pytest.raises, or a helper that does.

A test that only calls code passes whatever the code returns; when what it
relies on is "no exception", it says so (``assert ... is None``, or the
refusal side with ``pytest.raises``). This scan reads the test files' syntax
trees: a test function passes when its body holds an ``assert``, a
``pytest.raises``/``warns``/``fail``, or a call to a function of its module
(or imported from a test helper module) that passes by the same rule.
"""

import ast
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CHECKS = {"raises", "warns", "fail", "deprecated_call"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {p.stem: (p, ast.parse(p.read_text(), str(p))) for p in sorted(TESTS.rglob("*.py"))}


def _checks_directly(fn: ast.AST) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in CHECKS and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "pytest"):
            return True
    return False


def _called_names(fn: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _scope(name: str, modules) -> dict[str, tuple[str, ast.AST]]:
    """Functions a module can call by bare name: its own, and those it imports from test helpers."""
    tree = modules[name][1]
    scope = {n.name: (name, n) for n in tree.body if isinstance(n, FUNCTIONS)}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            defined = {n.name: n for n in modules[node.module][1].body if isinstance(n, FUNCTIONS)}
            for alias in node.names:
                if alias.name in defined:
                    scope[alias.asname or alias.name] = (node.module, defined[alias.name])
    return scope


def unchecked_tests() -> list[str]:
    modules = _modules()
    scopes = {name: _scope(name, modules) for name in modules}
    verdicts: dict[tuple[str, str], bool] = {}

    def checks(module: str, fn: ast.AST, seen: frozenset = frozenset()) -> bool:
        key = (module, fn.name)
        if key not in verdicts:
            if key in seen:
                return False
            scope = scopes[module]
            verdicts[key] = _checks_directly(fn) or any(
                checks(*scope[name], seen | {key}) for name in _called_names(fn) if name in scope)
        return verdicts[key]

    missing = []
    for name, (path, tree) in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, FUNCTIONS) and node.name.startswith("test") and not checks(name, node):
                missing.append(f"{path.relative_to(TESTS.parent)}:{node.lineno} {node.name}")
    return missing


def test_every_test_function_checks_something():
    assert unchecked_tests() == []


def test_the_scan_finds_a_test_that_checks_nothing(tmp_path, monkeypatch):
    (tmp_path / "test_example.py").write_text(
        "import pytest\n"
        "def helper(x):\n    assert x\n"
        "def test_silent():\n    sum([1])\n"
        "def test_by_helper():\n    helper(1)\n"
        "def test_refusal():\n    with pytest.raises(ValueError):\n        int('x')\n")
    monkeypatch.setattr(sys.modules[__name__], "TESTS", tmp_path)
    assert unchecked_tests() == [f"{tmp_path.name}/test_example.py:4 test_silent"]
