# Mutation testing of the rules that decide access, state and parsing: python tools/mutation.py AREA
"""Mutation testing, one area at a time (a developer tool: too slow for CI).

A mutant is the code with one small change (``<`` for ``<=``, a table entry
dropped, a footnote swapped); a test suite *detects* it when some test fails.
Each area is one module and the test files that speak for it:

    python tools/mutation.py --list                    # the areas, their modules and tests
    python tools/mutation.py conditions                # functions (mutmut) and tables
    python tools/mutation.py conditions --tables       # only the module-level tables
    python tools/mutation.py conditions --functions    # only the functions (mutmut)
    python tools/mutation.py conditions --survivors    # re-test only the last run's survivors
    python tools/mutation.py conditions --show         # ... and print each survivor's change
    python tools/mutation.py states --budget 20        # stop starting table mutants after 20 min

Install the tool first: ``pip install -e ".[test,mutation]"``.

Two mutators, one report:

* **functions**: mutmut (``[tool.mutmut]`` in pyproject.toml) mutates inside
  functions and runs, for each mutant, only the selected tests that reach that
  function. It works in ``build/mutation/AREA/`` (its ``mutants/`` tree and
  ``mutmut.log``); ``cd`` there for ``mutmut show NAME`` or ``mutmut browse``.
* **tables**: mutmut does not touch module-level code, where kmslab keeps its
  rules as data (the key-state table, the condition operators, the grant
  operation sets, format constants). :func:`table_mutants` changes one entry
  at a time: drops a dict entry or set element, swaps a cell for another
  value its column holds (an error cell for OK, one footnote for another),
  flips a comparison inside an entry (``<`` to ``<=``), moves a number by one.
  Each mutant runs in a forked process that imports the changed module
  instead of the file; the area's tests run with ``-x`` (most focused file
  first) and the first failing test is recorded. Results:
  ``build/mutation/AREA/tables.json``.

The report counts killed and timed-out mutants as detected; survivors and
mutants no selected test reaches ("no tests") are not. Both mutators use one
worker by default (``--max-children``): the machine is shared.
"""

from __future__ import annotations

import argparse
import ast
import copy
import fnmatch
import importlib.abc
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"


@dataclass(frozen=True)
class Area:
    """One module under mutation, the tests that speak for it and its module-level tables."""

    module: str                      # path under src/, e.g. "kmslab/policy/conditions.py"
    tests: tuple[str, ...]           # test files, most focused first (tables stop at the first failure)
    tables: tuple[str, ...] = ()     # module-level names whose values are mutated entry by entry
    #: per table, the values a cell may hold (source text; the first is the "no rule" value):
    #: each cell is swapped for the first and for the next one, instead of for its column's values
    alphabets: dict = field(default_factory=dict)
    doc: str = ""


_POLICY_TESTS = ("tests/test_policy_conditions.py", "tests/test_policy_operators.py",
                 "tests/test_policy_variables.py", "tests/test_policy_decision.py",
                 "tests/test_condition_parameters.py", "tests/test_request_context.py",
                 "tests/test_policy_document.py", "tests/test_authorization_policies.py",
                 "tests/test_authorization.py", "tests/test_grants.py",
                 "tests/test_widgets_policy.py", "tests/test_policy_properties.py")

AREAS = {
    "states": Area(
        "kmslab/service/states.py",
        ("tests/test_key_states.py", "tests/test_keys.py", "tests/test_imports.py",
         "tests/test_multiregion.py", "tests/test_keystores.py", "tests/test_rotation.py",
         "tests/test_grants.py", "tests/test_aliases.py", "tests/test_encryption.py"),
        tables=("STATES", "FOOTNOTES", "_CRYPTO", "_ROWS", "_COLUMNS"),
        alphabets={name: ("_", "1", "2", "3", "4", "5", "6", "11", "14", "15")
                   for name in ("_CRYPTO", "_ROWS")},
        doc="the key-state table: which operation each key state allows, and the error otherwise"),
    "conditions": Area(
        "kmslab/policy/conditions.py",
        _POLICY_TESTS,
        tables=("_LITERAL", "_AS_LITERAL", "_GLOB", "_FAMILIES", "_NEGATED", "OPERATORS"),
        doc="IAM condition operators, set operators, IfExists, policy variables"),
    "decision": Area(
        "kmslab/policy/decision.py",
        ("tests/test_policy_decision.py", "tests/test_policy_explanations.py")
        + tuple(t for t in _POLICY_TESTS if t != "tests/test_policy_decision.py"),
        tables=("LOCKOUT_MESSAGE", "EC_GRANT_OPERATIONS", "_LEVEL_TEXT"),
        doc="decide(): explicit deny, key policy, IAM policies, grants; the explanation"),
    "grants": Area(
        "kmslab/service/grants.py",
        ("tests/test_grants.py", "tests/test_policy_decision.py", "tests/test_authorization.py",
         "tests/test_key_states.py", "tests/test_validation.py", "tests/test_quotas.py"),
        tables=("MAX_GRANTS_PER_KEY", "_ALWAYS", "_SYMMETRIC_ONLY", "_GRANT_ID", "_PRINCIPAL_ARN"),
        doc="CreateGrant, ListGrants, RetireGrant, RevokeGrant and the grant operation sets"),
    "envelope": Area(
        "kmslab/envelope/format.py",
        ("tests/test_envelope.py", "tests/test_envelope_cache.py", "tests/test_widgets_envelope.py"),
        tables=("MAGIC", "VERSION", "SUITE_ID", "CONTENT_TYPE_FRAMED", "PROVIDER_ID",
                "MESSAGE_ID_LENGTH", "DATA_KEY_LENGTH", "COMMITMENT_LENGTH", "TAG_LENGTH",
                "NONCE_LENGTH", "FINAL_MARKER", "MAX_SEQUENCE_NUMBER", "DEFAULT_FRAME_LENGTH",
                "MAX_FRAME_LENGTH", "KIND_REGULAR", "KIND_FINAL", "REGULAR_FRAME_OVERHEAD",
                "FINAL_FRAME_OVERHEAD", "_PREAMBLE", "_TRAILER", "_FRAME_AAD"),
        doc="the client-side envelope message format: header, frames, the parser"),
    "blob": Area(
        "kmslab/crypto/symmetric.py",
        ("tests/test_encryption.py", "tests/test_rotation.py", "tests/test_imports.py",
         "tests/test_multiregion.py", "tests/test_keys.py", "tests/test_validation.py"),
        tables=("FORMAT_VERSION", "NONCE_SIZE", "TAG_SIZE", "MATERIAL_ID_SIZE", "_INVALID"),
        doc="the symmetric ciphertext blob: format, parse, encrypt, decrypt"),
}

#: pytest arguments for every mutant run: stop at the first failure, reproducible Hypothesis
PYTEST_ARGS = ("-x", "-q", "-p", "no:randomly", "--hypothesis-seed=0")


def existing(tests) -> list[str]:
    """The area's test files that exist (an area may name a file another branch adds)."""
    return [t for t in tests if (ROOT / t).exists()]


# =================================================================== table mutants
@dataclass
class TableMutant:
    """One change to one module-level table entry."""

    ident: str
    line: int | str       # "line" or "line:column"
    where: str            # e.g. "_ROWS['CreateGrant'][1]"
    change: str           # e.g. "1 -> _"
    path: tuple           # from the module to the node the change applies to
    kind: str             # "replace" | "drop" | "drop_stmt"
    new: ast.AST | None = None

    @property
    def description(self) -> str:
        return f"line {self.line}: {self.where}: {self.change}"

    def apply(self, tree: ast.Module) -> ast.Module:
        tree = copy.deepcopy(tree)
        if self.kind == "drop_stmt":
            (_, index), = self.path
            old = tree.body[index]
            tree.body[index] = ast.copy_location(ast.Pass(), old)
            return tree
        *parent_path, (attr, index) = self.path
        parent = _follow(tree, parent_path)
        if self.kind == "drop":
            if isinstance(parent, ast.Dict):
                del parent.keys[index], parent.values[index]
            else:
                del getattr(parent, attr)[index]
            return tree
        new = copy.deepcopy(self.new)
        old = getattr(parent, attr) if index is None else getattr(parent, attr)[index]
        if isinstance(old, ast.AST) and hasattr(old, "lineno"):
            ast.copy_location(new, old)
            ast.fix_missing_locations(new)
        if index is None:
            setattr(parent, attr, new)
        else:
            getattr(parent, attr)[index] = new
        return tree


def _follow(node, path):
    for attr, index in path:
        node = getattr(node, attr)
        if index is not None:
            node = node[index]
    return node


_FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
          ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
          ast.IsNot: ast.Is, ast.And: ast.Or, ast.Or: ast.And, ast.Add: ast.Sub, ast.Sub: ast.Add,
          ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr, ast.LShift: ast.RShift,
          ast.RShift: ast.LShift, ast.Mult: ast.FloorDiv}
_OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.And: "and",
            ast.Or: "or", ast.Add: "+", ast.Sub: "-", ast.BitOr: "|", ast.BitAnd: "&",
            ast.LShift: "<<", ast.RShift: ">>", ast.Mult: "*", ast.FloorDiv: "//"}
_LEAVES = (ast.Constant, ast.Name, ast.Attribute)


def _short(node, limit=60) -> str:
    text = ast.unparse(node) if isinstance(node, ast.AST) else str(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_leaf(node) -> bool:
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, (ast.Name, ast.Attribute)) and _is_leaf(node.value)
    return isinstance(node, _LEAVES)


def _swappable(node, slot: str) -> bool:
    """A leaf that may become another value: not a set or list element (those are dropped),
    not a constant of a tuple of constants (dropped too), nothing inside a lambda (its
    operators flip instead)."""
    return _is_leaf(node) and not slot.endswith(".e") and ".lambda" not in slot


def _is_collection(node) -> bool:
    """A set, a list, or a tuple of strings (``STATES``): its elements are dropped one by one."""
    return isinstance(node, (ast.Set, ast.List)) or (
        isinstance(node, ast.Tuple) and bool(node.elts)
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts))


def _is_mapping(node: ast.BinOp) -> bool:
    """``a | b`` of dicts: flipping the operator only breaks the import."""
    return any(isinstance(side, (ast.Dict, ast.DictComp)) or isinstance(side, ast.BinOp) and _is_mapping(side)
               for side in (node.left, node.right))


def _table_statements(tree: ast.Module, names) -> list[tuple[int, str, ast.AST, bool]]:
    """(statement index, label, value node, whole statement is one entry) for each table."""
    out = []
    for i, stmt in enumerate(tree.body):
        target = value = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        if isinstance(target, ast.Name) and target.id in names:
            out.append((i, target.id, value, False))
        elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
              and target.value.id in names):
            out.append((i, ast.unparse(target), value, True))
    return out


def _regex_variants(pattern: str) -> list[tuple[str, str]]:
    """A few mutations of a regular expression: quantifiers, counts, alternatives, anchors."""
    out = []
    for m in re.finditer(r"(?<!\\)[+*]", pattern):
        new = pattern[: m.start()] + ("*" if m.group() == "+" else "+") + pattern[m.end():]
        out.append((new, f"{m.group()!r} at {m.start()} -> {'*' if m.group() == '+' else '+'}"))
    for m in re.finditer(r"(?<!\\)\{(\d+)\}", pattern):
        n = int(m.group(1))
        for k in (n - 1, n + 1):
            out.append((pattern[: m.start()] + f"{{{k}}}" + pattern[m.end():], f"{{{n}}} -> {{{k}}}"))
    for m in re.finditer(r"(?<!\\)\|", pattern):  # drop the alternative after each "|"
        end = m.end()
        depth = 0
        while end < len(pattern):
            c = pattern[end]
            if c == "\\":
                end += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c == "|" and depth == 0:
                break
            end += 1
        out.append((pattern[: m.start()] + pattern[end:], f"drop alternative {pattern[m.end():end]!r}"))
    for m in re.finditer(r"\\d", pattern):
        out.append((pattern[: m.start()] + "." + pattern[m.end():], f"\\d at {m.start()} -> ."))
    return out


def table_mutants(source: str, area: Area) -> list[TableMutant]:
    """Every one-entry change to the area's module-level tables (see the module docstring)."""
    tree = ast.parse(source)
    statements = _table_statements(tree, set(area.tables))
    missing = set(area.tables) - {label.split("[")[0] for _, label, _, _ in statements}
    if missing:
        raise SystemExit(f"{area.module}: no module-level table named {sorted(missing)}")
    dict_keys: dict[str, list] = {}
    for _, label, value, _ in statements:
        node = value.args[0] if isinstance(value, ast.Call) and value.args else value
        if isinstance(node, ast.Dict):
            dict_keys[label] = [k.value for k in node.keys
                                if isinstance(k, ast.Constant) and isinstance(k.value, str)]

    # pass 1: what each slot holds, so a cell can become another value of its column
    domains: dict[str, list[str]] = {}
    walks = []

    def walk(node, path, where, slot, out):
        out.append((node, path, where, slot))
        if isinstance(node, ast.Dict):
            for i, (k, v) in enumerate(zip(node.keys, node.values)):
                key = _short(k, 40) if k is not None else "**"
                walk(v, path + (("values", i),), f"{where}[{key}]", slot + ".v", out)
        elif isinstance(node, (ast.Set, ast.List, ast.Tuple)):
            generic = _is_collection(node)
            for i, e in enumerate(node.elts):
                walk(e, path + (("elts", i),), f"{where}[{i}]", slot + (".e" if generic else f".t{i}"), out)
        elif isinstance(node, ast.Call):
            func = _short(node.func, 30)
            several = len(node.args) + len(node.keywords) > 1
            for i, a in enumerate(node.args):
                walk(a, path + (("args", i),), f"{where} arg {i}" if several else where,
                     slot + f".{func}({i})", out)
            for i, kw in enumerate(node.keywords):
                walk(kw.value, path + (("keywords", i), ("value", None)), f"{where} {kw.arg}=",
                     slot + f".{func}({kw.arg}=)", out)
        elif isinstance(node, ast.Lambda):
            walk(node.body, path + (("body", None),), where, slot + ".lambda", out)
        elif isinstance(node, ast.Compare):
            walk(node.left, path + (("left", None),), where, slot + ".cmp", out)
            for i, c in enumerate(node.comparators):
                walk(c, path + (("comparators", i),), where, slot + ".cmp", out)
        elif isinstance(node, ast.BoolOp):
            for i, v in enumerate(node.values):
                walk(v, path + (("values", i),), where, slot + ".bool", out)
        elif isinstance(node, ast.BinOp):
            walk(node.left, path + (("left", None),), where, slot + ".l", out)
            walk(node.right, path + (("right", None),), where, slot + ".r", out)
        elif isinstance(node, ast.UnaryOp):
            walk(node.operand, path + (("operand", None),), where, slot + ".u", out)
        elif isinstance(node, ast.Subscript):
            walk(node.slice, path + (("slice", None),), where, slot + ".sub", out)

    for index, label, value, _ in statements:
        stmt = tree.body[index]
        value_field = "value"
        out: list = []
        walk(value, (("body", index), (value_field, None)), label, label.split("[")[0], out)
        walks.append((index, label, stmt, out))
        for node, _, _, slot in out:
            if _swappable(node, slot) and not slot.endswith(".sub"):
                text = ast.unparse(node)
                domains.setdefault(slot, [])
                if text not in domains[slot]:
                    domains[slot].append(text)

    mutants: list[TableMutant] = []

    def add(line, where, change, path, kind, new=None, node=None):
        if node is not None and hasattr(node, "col_offset"):
            line = f"{line}:{node.col_offset + 1}"
        mutants.append(TableMutant(f"{Path(area.module).stem}:{len(mutants) + 1}", line, where,
                                   change, path, kind, new))

    for index, label, stmt, nodes in walks:
        table = label.split("[")[0]
        alphabet = area.alphabets.get(table)
        if label != table:  # TABLE[key] = value: the statement is one entry
            add(stmt.lineno, label, "statement removed", (("body", index),), "drop_stmt")
        for node, path, where, slot in nodes:
            line = getattr(node, "lineno", stmt.lineno)
            # drop one entry of a dict, set or list, or one name of a tuple of constants
            if isinstance(node, ast.Dict):
                for i, k in enumerate(node.keys):
                    add(getattr(k, "lineno", line), f"{where}[{_short(k, 40)}]", "entry removed",
                        path + (("keys", i),), "drop")
            elif _is_collection(node):
                for i, e in enumerate(node.elts):
                    add(getattr(e, "lineno", line), where, f"element {_short(e, 40)} removed",
                        path + (("elts", i),), "drop")
            # flip operators inside an entry
            if isinstance(node, ast.Compare):
                for i, op in enumerate(node.ops):
                    flipped = _FLIPS.get(type(op))
                    if flipped:
                        add(line, where, f"{_short(node)}: {_OP_TEXT[type(op)]} -> {_OP_TEXT[flipped]}",
                            path + (("ops", i),), "replace", flipped())
            elif (isinstance(node, (ast.BoolOp, ast.BinOp)) and type(node.op) in _FLIPS
                  and not (isinstance(node, ast.BinOp) and _is_mapping(node))):
                flipped = _FLIPS[type(node.op)]
                add(line, where, f"{_short(node)}: {_OP_TEXT[type(node.op)]} -> {_OP_TEXT[flipped]}",
                    path + (("op", None),), "replace", flipped())
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                add(line, where, f"{_short(node)} -> {_short(node.operand)}", path, "replace",
                    node.operand)
            if not _swappable(node, slot):
                continue
            text = ast.unparse(node)
            alternatives: list[str] = []
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and slot.endswith(".sub")):  # TABLE["key"]: another key of that table
                base = _follow(tree, path[:-1])
                keys = dict_keys.get(ast.unparse(base.value), []) if isinstance(base, ast.Subscript) else []
                if node.value in keys:
                    i = keys.index(node.value)
                    alternatives = [repr(k) for k in (keys[0], keys[(i + 1) % len(keys)]) if k != node.value]
            elif alphabet and text in alphabet:
                nxt = alphabet[(alphabet.index(text) + 1) % len(alphabet)]
                if nxt == alphabet[0]:
                    nxt = alphabet[1]
                alternatives = [a for a in (alphabet[0], nxt) if a != text]
            elif len(domains.get(slot, ())) > 1:
                column = domains[slot]
                alternatives = [column[(column.index(text) + 1) % len(column)]]
            elif isinstance(node, ast.Constant):
                v = node.value
                if isinstance(v, bool):
                    alternatives = [repr(not v)]
                elif isinstance(v, int):
                    alternatives = [repr(v + 1), repr(v - 1)]
                elif isinstance(v, str) and slot.endswith(".compile(0)"):
                    for pattern, change in _regex_variants(v):
                        add(line, where, f"regex {change}", path, "replace", ast.Constant(pattern))
                elif isinstance(v, str) and slot.endswith(".Struct(0)"):
                    for m in re.finditer(r"\d+", v):
                        k = int(m.group()) + 1
                        add(line, where, f"struct format {v!r}: {m.group()} -> {k}", path, "replace",
                            ast.Constant(v[: m.start()] + str(k) + v[m.end():]))
                elif isinstance(v, (str, bytes)) and v:
                    alternatives = [repr(type(v)("XX") + v + type(v)("XX") if isinstance(v, str)
                                         else b"XX" + v + b"XX")]
            for alt in dict.fromkeys(alternatives):
                if alt != text:
                    add(line, where, f"{_short(text, 50)} -> {_short(alt, 50)}", path, "replace",
                        ast.parse(alt, mode="eval").body, node=node)
    return mutants


# ----------------------------------------------------------------- running a mutant
class _MutantModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module from a code object instead of its file (in a forked child)."""

    def __init__(self, name: str, filename: str, code):
        self.name, self.filename, self.code = name, filename, code

    def find_spec(self, fullname, path, target=None):
        if fullname == self.name:
            return importlib.util.spec_from_file_location(fullname, self.filename, loader=self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(self.code, module.__dict__)


class _FirstFailure:
    """pytest plugin: write the node id of the first failing test to a file."""

    def __init__(self, path: str):
        self.path = path
        self.seen = False

    def pytest_runtest_logreport(self, report):
        if report.failed and not self.seen:
            self.seen = True
            Path(self.path).write_text(report.nodeid)

    def pytest_collectreport(self, report):
        if report.failed and not self.seen:
            self.seen = True
            Path(self.path).write_text(f"collecting {report.nodeid}")


def _preload() -> None:
    """Import what kmslab imports (pandas, matplotlib, botocore...) once, then forget kmslab."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT / "src"))  # this checkout's kmslab, whatever is installed
    import pytest  # noqa: F401
    import kmslab  # noqa: F401
    for name in [n for n in sys.modules if n == "kmslab" or n.startswith("kmslab.")]:
        del sys.modules[name]


def _child(module: str, filename: str, code, tests, log: Path, first: Path) -> None:
    """Run in a forked process: the mutant module, then pytest; exit with pytest's code."""
    rc = 70
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        finder = _MutantModule(module, filename, code)
        sys.meta_path.insert(0, finder)
        os.chdir(ROOT)
        import pytest
        rc = int(pytest.main([*PYTEST_ARGS, *tests], plugins=[_FirstFailure(str(first))]))
        loaded = sys.modules.get(module)
        if rc == 0 and getattr(loaded, "__loader__", None) is not finder:
            rc = 71  # the tests never imported the module: nothing was tested
    except BaseException:  # noqa: BLE001 - report anything as a crash of this mutant
        import traceback
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


def run_in_child(module, filename, code, tests, log: Path, first: Path, timeout: float) -> tuple[str, float]:
    """(status, seconds) of one run of ``tests`` with ``code`` as ``module``."""
    first.unlink(missing_ok=True)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(module, filename, code, tests, log, first)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - start
        time.sleep(0.05)
    seconds = time.monotonic() - start
    if os.WIFSIGNALED(status):
        return "crashed", seconds
    rc = os.WEXITSTATUS(status)
    # 2: collection failed, 3: internal error, 4: conftest failed to import (the clean run
    # passed with the same arguments, so the mutant broke the import)
    return {0: "survived", 1: "killed", 2: "killed", 3: "killed", 4: "killed", 5: "no tests",
            71: "no tests"}.get(rc, f"error {rc}"), seconds


def run_tables(area_name: str, area: Area, *, budget: float | None, only: str | None,
               survivors_only: bool, show: bool) -> dict:
    """Run the area's table mutants; write tables.json; return the counts."""
    work = WORK / area_name
    work.mkdir(parents=True, exist_ok=True)
    source_path = ROOT / "src" / area.module
    source = source_path.read_text()
    module = area.module[:-3].replace("/", ".")
    tests = existing(area.tests)
    mutants = table_mutants(source, area)
    tree = ast.parse(source)
    results_path = work / "tables.json"
    previous = {}
    if results_path.exists():
        previous = {r["ident"]: r for r in json.loads(results_path.read_text())["mutants"]}
    selected = mutants
    if survivors_only:
        selected = [m for m in mutants if previous.get(m.ident, {}).get("status") in ("survived", "no tests")
                    and previous[m.ident]["description"] == m.description]
    if only:
        selected = [m for m in selected if fnmatch.fnmatch(m.description, f"*{only}*")]
    print(f"tables: {len(mutants)} mutants of {', '.join(area.tables)} in src/{area.module}; "
          f"running {len(selected)} against {len(tests)} test files (pytest {' '.join(PYTEST_ARGS)})",
          flush=True)
    _preload()
    log, first = work / "table-run.log", work / "table-first-failure.txt"
    status, clean_seconds = run_in_child(module, str(source_path), compile(tree, str(source_path), "exec"),
                                         tests, log, first, timeout=1800)
    if status != "survived":
        raise SystemExit(f"the unmutated module does not pass its tests ({status}); see {log}")
    timeout = max(60.0, 10 * clean_seconds)
    print(f"  clean run: {clean_seconds:.1f}s; timeout per mutant {timeout:.0f}s", flush=True)
    results = dict(previous) if (survivors_only or only) else {}
    started = time.monotonic()
    ran = 0
    for n, m in enumerate(selected, 1):
        if budget is not None and time.monotonic() - started > budget * 60:
            print(f"  budget of {budget:g} min reached after {ran} of {len(selected)} mutants", flush=True)
            break
        code = compile(m.apply(tree), str(source_path), "exec")
        status, seconds = run_in_child(module, str(source_path), code, tests, work / "mutant.log",
                                       first, timeout)
        ran += 1
        killer = first.read_text() if first.exists() and status == "killed" else None
        results[m.ident] = {"ident": m.ident, "description": m.description, "status": status,
                            "killed_by": killer, "seconds": round(seconds, 2)}
        mark = {"killed": ".", "survived": "S", "timeout": "T", "no tests": "N"}.get(status, "E")
        print(mark, end="" if n % 60 else "\n", flush=True)
    print(flush=True)
    current = {m.ident for m in mutants}
    rows = [r for r in results.values() if r["ident"] in current]
    results_path.write_text(json.dumps({"module": area.module, "tests": tests,
                                        "total": len(mutants), "mutants": rows}, indent=1))
    counts = _count(r["status"] for r in rows)
    counts["total"] = len(mutants)
    survivors = [r for r in rows if r["status"] not in ("killed", "timeout")]
    if survivors:
        print(f"  not detected ({len(survivors)}):")
        for r in survivors:
            print(f"    {r['ident']:<16} {r['status']:<9} {r['description']}")
    return counts


# =================================================================== function mutants (mutmut)
def _mutmut() -> str:
    exe = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if exe is None:
        raise SystemExit('mutmut is not installed: pip install -e ".[test,mutation]"')
    return exe


def _mutmut_config(area: Area) -> str:
    """The area's pyproject.toml: the project's [tool.mutmut] narrowed to one module."""
    base = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {}).get("mutmut", {})
    config = dict(base)
    config["only_mutate"] = [f"src/{area.module}"]
    config["pytest_add_cli_args_test_selection"] = existing(area.tests)
    config.setdefault("source_paths", ["src/kmslab"])
    lines = ["[tool.mutmut]"]
    for key, value in config.items():
        lines.append(f"{key} = {json.dumps(value)}")
    lines += ["", "[tool.pytest.ini_options]", 'addopts = "-p no:cacheprovider"', ""]
    return "\n".join(lines)


def _prepare_workdir(area_name: str, area: Area, fresh: bool) -> Path:
    work = WORK / area_name
    if fresh and (work / "mutants").exists():
        shutil.rmtree(work / "mutants")
    work.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    (work / "pyproject.toml").write_text(_mutmut_config(area))
    return work


def _mutmut_results(work: Path, mutmut: str) -> dict[str, str]:
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True,
                         text=True, check=True).stdout
    results = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            results[name] = status
    return results


def run_functions(area_name: str, area: Area, *, max_children: int, survivors_only: bool,
                  show: bool) -> dict:
    """Run mutmut on the area's module; return the counts."""
    mutmut = _mutmut()
    work = _prepare_workdir(area_name, area, fresh=not survivors_only)
    names: list[str] = []
    if survivors_only:
        names = [n for n, s in _mutmut_results(work, mutmut).items() if s in ("survived", "no tests")]
        if not names:
            print("functions: no survivors to re-test")
    cmd = [mutmut, "run", "--max-children", str(max_children), *names]
    print(f"functions: (cd {work.relative_to(ROOT)} && {' '.join(['mutmut'] + cmd[1:4])}"
          f"{' <survivors>' if names else ''})  log: {work.relative_to(ROOT)}/mutmut.log", flush=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    with open(work / "mutmut.log", "w") as log:
        proc = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"mutmut failed (exit {proc.returncode}); see {work / 'mutmut.log'}")
    results = _mutmut_results(work, mutmut)
    counts = _count(results.values())
    counts["total"] = len(results)
    survivors = [(n, s) for n, s in results.items() if s not in ("killed", "timeout")]
    if survivors:
        print(f"  not detected ({len(survivors)}):")
        for name, status in survivors:
            print(f"    {name}: {status}")
            if show:
                diff = subprocess.run([mutmut, "show", name], cwd=work, capture_output=True,
                                      text=True).stdout
                print("      " + "\n      ".join(diff.strip().splitlines()[3:]))
    return counts


# =================================================================== report
def _count(statuses) -> dict:
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return counts


def _rate(counts: dict) -> str:
    ran = sum(v for k, v in counts.items() if k not in ("total", "not checked", "skipped"))
    detected = counts.get("killed", 0) + counts.get("timeout", 0)
    pct = 100 * detected / ran if ran else 0.0
    rest = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                     if k not in ("total", "killed", "timeout") and v)
    return (f"{detected}/{ran} detected ({pct:.1f}%) of {counts.get('total', ran)} mutants"
            + (f"; {rest}" if rest else ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("area", nargs="?", choices=sorted(AREAS))
    parser.add_argument("--list", action="store_true", help="list the areas")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--functions", action="store_true", help="only mutmut's function mutants")
    what.add_argument("--tables", action="store_true", help="only the module-level table mutants")
    parser.add_argument("--survivors", action="store_true",
                        help="re-test only the previous run's survivors (after adding tests)")
    parser.add_argument("--only", metavar="TEXT", help="table mutants whose description contains TEXT")
    parser.add_argument("--show", action="store_true", help="print each surviving function mutant's diff")
    parser.add_argument("--max-children", type=int, default=1, help="mutmut workers (default 1)")
    parser.add_argument("--budget", type=float, metavar="MINUTES",
                        help="stop starting table mutants after this many minutes")
    args = parser.parse_args(argv)
    if args.list or not args.area:
        for name, area in AREAS.items():
            print(f"{name:<11} src/{area.module}: {area.doc}")
            print(f"{'':<11} tables: {', '.join(area.tables) or '-'}")
            print(f"{'':<11} tests: {' '.join(Path(t).name for t in existing(area.tests))}")
        return 0
    area = AREAS[args.area]
    summary = {}
    if not args.tables:
        summary["functions"] = run_functions(args.area, area, max_children=args.max_children,
                                             survivors_only=args.survivors, show=args.show)
    if not args.functions and area.tables:
        summary["tables"] = run_tables(args.area, area, budget=args.budget, only=args.only,
                                       survivors_only=args.survivors, show=args.show)
    print(f"\n{args.area} (src/{area.module})")
    for part, counts in summary.items():
        print(f"  {part:<9} {_rate(counts)}")
    if len(summary) == 2:
        total = _count([])
        for counts in summary.values():
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
        print(f"  {'together':<9} {_rate(total)}")
    (WORK / args.area / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
