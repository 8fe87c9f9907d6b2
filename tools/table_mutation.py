"""One-entry changes to module-level tables, and running one mutant in a forked process.

mutmut mutates code inside functions only; kmslab keeps many rules as module-level
data. :func:`table_mutants` lists every change of one entry of the named tables:

* drop one dict entry, one set or list element, one name of a tuple of strings, or a
  ``TABLE[key] = ...`` statement;
* swap a cell for the next value its column holds (a slot: the same position in every
  entry), or, with an *alphabet* for the table, for its first value ("no rule") and the
  next one; ``TABLE["key"]`` for another key of the table;
* flip an operator inside an entry (``<`` to ``<=``, ``==`` to ``!=``, ``in``, ``is``,
  ``and``/``or``, ``+``/``-``, ``|``/``&``, ``<<``/``>>``), drop a ``not``;
* move a lone number by one, flip a boolean, mark a lone string (``"XX...XX"``), change a
  ``re.compile`` pattern (quantifiers, counts, alternatives, ``\\d``) or a
  ``struct.Struct`` format's counts.

:func:`run_in_child` runs pytest in a forked process that imports the changed module
from a code object instead of its file.
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.abc
import importlib.util
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TableMutant", "table_mutants", "Facts", "fact_mutants", "discover_tables",
           "missing_tables", "preload", "run_in_child"]

@dataclass
class TableMutant:
    """One change to one module-level table entry."""

    ident: str
    line: int | str       # "line" or "line:column"
    where: str            # e.g. "_ROWS['CreateGrant'][1]"
    change: str           # e.g. "1 -> _"
    path: tuple           # from the module to the node the change applies to
    kind: str             # "replace" | "drop" | "drop_stmt" | "set_fact"
    new: ast.AST | None = None

    @property
    def description(self) -> str:
        return f"line {self.line}: {self.where}: {self.change}"

    def apply(self, tree: ast.Module) -> ast.Module:
        tree = copy.deepcopy(tree)
        if self.kind == "set_fact":
            _set_fact(_follow(tree, self.path), *self.new)
            return ast.fix_missing_locations(tree)
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


_CONSTRUCTORS = {"frozenset", "set", "tuple", "dict", "MappingProxyType", "re.compile",
                 "struct.Struct", "str.maketrans"}
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _is_data(node) -> bool:
    """A literal table or constant: displays, constants, names, and the constructors above."""
    if isinstance(node, (ast.Constant, ast.Name, ast.Attribute)):
        return True
    if isinstance(node, (ast.Dict, ast.Set, ast.List, ast.Tuple)):
        return True
    if isinstance(node, ast.UnaryOp):
        return _is_data(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_data(node.left) and _is_data(node.right)
    if isinstance(node, ast.Call):
        return ast.unparse(node.func) in _CONSTRUCTORS and all(_is_data(a) for a in node.args)
    return False


def discover_tables(source: str) -> list[str]:
    """The module-level names bound to data (a table or a constant), in source order.

    Left out: ``__dunder__`` names, plain aliases (``_ = OK``), and values built by a
    comprehension (derived from another table, which is mutated instead).
    """
    names = []
    for stmt in ast.parse(source).body:
        target = value = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        if (isinstance(target, ast.Name) and not target.id.startswith("__")
                and not isinstance(value, ast.Name) and _is_data(value)
                and not any(isinstance(n, _COMPREHENSIONS) for n in ast.walk(value))
                and target.id not in names):
            names.append(target.id)
    return names


def missing_tables(source: str, tables) -> list[str]:
    """Which of ``tables`` the module does not bind (renamed or moved since the area was written)."""
    found = {label.split("[")[0] for _, label, _, _ in _table_statements(ast.parse(source), set(tables))}
    return [t for t in tables if t not in found]


def table_mutants(source: str, tables=None, alphabets=None, *, name: str = "table") -> list[TableMutant]:
    """Every one-entry change to the module-level ``tables`` of ``source`` (see the module docstring).

    ``tables`` None: every table :func:`discover_tables` finds; names the module does not
    bind are skipped (see :func:`missing_tables`). ``alphabets`` maps a table to the values
    its cells may hold (source text, the "no rule" value first); mutant ids are ``name:1``...
    """
    alphabets = alphabets or {}
    tables = discover_tables(source) if tables is None else tables
    tree = ast.parse(source)
    statements = _table_statements(tree, set(tables))
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
            for i, (k, v) in enumerate(zip(node.keys, node.values, strict=True)):
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
        mutants.append(TableMutant(f"{name}:{len(mutants) + 1}", line, where,
                                   change, path, kind, new))

    for index, label, stmt, nodes in walks:
        table = label.split("[")[0]
        alphabet = alphabets.get(table)
        if label != table:  # TABLE[key] = value: the statement is one entry
            add(stmt.lineno, label, "statement removed", (("body", index),), "drop_stmt")
        for node, path, where, slot in nodes:
            line = getattr(node, "lineno", stmt.lineno)
            # drop one entry of a dict, set or list, or one name of a tuple of constants
            if isinstance(node, ast.Dict):
                for i, k in enumerate(node.keys):
                    if k is None:  # **entries: named by where they are
                        add(node.values[i].lineno, f"{where}[**]", "entry removed", path + (("keys", i),),
                            "drop")
                        continue
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


# ----------------------------------------------------------------- facts of a table's rows
@dataclass(frozen=True)
class Facts:
    """Chosen facts of each row of one table of rows (``{name: row}``, a row being a dict
    display or a call such as ``_crypto(usage=...)`` that returns one): each fact is set, row
    by row, to another of the values it may take, whether the row writes it or inherits it.
    The other mutants of such a table (every cell swapped, every entry dropped) are mostly
    about other rules; these are about one rule only."""

    table: str
    #: fact -> the values it may take (None: absent, the column's default), the first being
    #: "no rule"; a row's fact is set to the first and to the one after its own
    values: dict
    #: the other facts are changed only in rows where this fact is true (e.g. "grant")
    rows_with: str | None = None
    #: facts holding a row of their own, changed the same way (ReEncrypt's "source")
    nested: tuple = ()


def _set_fact(row: ast.AST, fact: str, value) -> None:
    """Set ``fact`` of a row node (dict display: the entry; call: the keyword) to ``value``
    (None on a dict display: the entry removed)."""
    new = ast.copy_location(ast.Constant(value), row)
    if isinstance(row, ast.Dict):
        for i, k in enumerate(row.keys):
            if isinstance(k, ast.Constant) and k.value == fact:
                if value is None:
                    del row.keys[i], row.values[i]
                else:
                    row.values[i] = new
                return
        if value is not None:
            row.keys.append(ast.copy_location(ast.Constant(fact), row))
            row.values.append(new)
        return
    if isinstance(row, ast.Call):
        for kw in row.keywords:
            if kw.arg == fact:
                kw.value = new
                return
        row.keywords.append(ast.keyword(arg=fact, value=new))
        return
    raise TypeError(f"not a row: {ast.unparse(row)}")


def _row_part(row: ast.AST, fact: str):
    """The path step from a row node to the node of ``fact``, or None."""
    if isinstance(row, ast.Dict):
        for i, k in enumerate(row.keys):
            if isinstance(k, ast.Constant) and k.value == fact:
                return ("values", i)
    elif isinstance(row, ast.Call):
        for i, kw in enumerate(row.keywords):
            if kw.arg == fact:
                return ("keywords", i), ("value", None)
    return None


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def fact_mutants(source: str, facts: Facts, *, name: str = "table", start: int = 0) -> list[TableMutant]:
    """One mutant per row and fact of ``facts.table``, the fact set to each value it may take
    other than the row's own (read from the module, run once: a row may inherit a fact)."""
    tree = ast.parse(source)
    namespace: dict = {}
    exec(compile(tree, "<facts>", "exec"), namespace)  # noqa: S102 - the project's own module
    table = namespace[facts.table]
    (index, label, value, _), = [s for s in _table_statements(tree, {facts.table}) if s[1] == facts.table]
    mutants: list[TableMutant] = []

    def visit(row_node, path, row, where):
        gate = not facts.rows_with or bool(row.get(facts.rows_with))
        for fact, choices in facts.values.items():
            if fact != facts.rows_with and not gate:
                continue
            own = row.get(fact)
            at = [i for i, c in enumerate(choices) if _same(c, own)]
            candidates = [choices[0]] + ([choices[(at[0] + 1) % len(choices)]] if at else list(choices[1:2]))
            for new in dict.fromkeys(candidates):
                if not _same(new, own):
                    mutants.append(TableMutant(f"{name}:{start + len(mutants) + 1}", row_node.lineno,
                                               where, f"{fact} {own!r} -> {new!r}", path, "set_fact",
                                               (fact, new)))
        for fact in facts.nested:
            step = _row_part(row_node, fact)
            if isinstance(row.get(fact), dict) and step is not None:
                steps = step if isinstance(step[0], tuple) else (step,)
                visit(_follow(row_node, steps), path + steps, row[fact], f"{where} {fact}")

    for i, (k, v) in enumerate(zip(value.keys, value.values, strict=True)):
        if isinstance(k, ast.Constant) and isinstance(table.get(k.value), dict):
            visit(v, (("body", index), ("value", None), ("values", i)), table[k.value],
                  f"{label}[{k.value!r}]")
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


def preload(src: Path, package: str) -> None:
    """Import what ``package`` imports (pandas, matplotlib, botocore...) once, then forget it,
    so each forked mutant imports only the package itself, from ``src``."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(src))  # this checkout's package, whatever is installed
    import pytest  # noqa: F401
    importlib.import_module(package)
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _child(module: str, filename: str, code, args, root: Path, log: Path, first: Path) -> None:
    """Run in a forked process: the mutant module, then pytest; exit with pytest's code."""
    rc = 70
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        finder = _MutantModule(module, filename, code)
        sys.meta_path.insert(0, finder)
        os.chdir(root)
        import pytest
        rc = int(pytest.main(list(args), plugins=[_FirstFailure(str(first))]))
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


def run_in_child(module: str, filename: str, code, args, *, root: Path, log: Path, first: Path,
                 timeout: float) -> tuple[str, float]:
    """(status, seconds) of ``pytest args`` run in ``root`` with ``code`` as ``module``.

    The forked child's output goes to ``log``; the first failing test's id to ``first``.
    """
    first.unlink(missing_ok=True)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(module, filename, code, args, root, log, first)
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
