"""Request validation from AWS KMS's own service model (shipped in botocore).

botocore carries the KMS API definition AWS publishes: every operation, its
input and output shapes, enums, lengths, ranges and patterns
(:mod:`kmslab.operations.model` loads it once). kmslab validates every request
against it, with AWS's ``ValidationException`` wording, plus the ranges the
API Reference documents beyond the model (a List operation's ``Limit``, from
the operation table).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import arns, errors
from ..operations import spec
from ..operations.model import camel, doc_text, kms_model, operation_model

__all__ = ["kms_model", "operation_model", "validator", "camel", "doc_text"]


# ----------------------------------------------------------------- validation

_TYPES = {
    "string": (str,), "blob": (bytes, bytearray, memoryview), "integer": (int,), "long": (int,),
    "boolean": (bool,), "list": (list, tuple), "map": (dict,), "structure": (dict,),
    "timestamp": (datetime,), "double": (int, float), "float": (int, float),
}


def is_text(value: str) -> bool:
    """Whether a str is Unicode text that UTF-8 can carry (no lone surrogate code points).

    Python strings may hold lone surrogates (from JSON's ``"\\ud800"`` or
    ``surrogateescape``); AWS strings are UTF-8 on the wire, so such a value is
    not a string the API takes.
    """
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_text(value: str, path: str) -> str:
    bad = next(c for c in value if "\ud800" <= c <= "\udfff")
    return (f"Value at '{path}' failed to satisfy constraint: Member must be a string of "
            f"Unicode characters (U+{ord(bad):04X} is a lone surrogate, which UTF-8 cannot encode)")


def _checks_for(shape) -> list[Callable[[Any, str, list], None]]:
    """Compile the constraint checks of one shape into small closures."""
    checks = []
    meta = shape.metadata
    tname = shape.type_name
    sensitive = bool(meta.get("sensitive"))
    types = _TYPES[tname]

    def show(value):
        return "" if sensitive or tname == "blob" else f" '{value}'"

    def type_check(value, path, out):
        if not isinstance(value, types) or (tname == "integer" and isinstance(value, bool)):
            raise errors.ValidationException(
                f"1 validation error detected: Value{show(value)} at '{path}' failed to satisfy "
                f"constraint: Member must be of type {tname}")
    checks.append(type_check)
    if tname == "string":
        def text_check(value, path, out):
            if not is_text(value):
                out.append(_not_text(value, path))
        checks.append(text_check)

    if "min" in meta or "max" in meta:
        lo, hi = meta.get("min"), meta.get("max")
        if tname in ("integer", "long"):
            def range_check(value, path, out, lo=lo, hi=hi):
                if lo is not None and value < lo:
                    out.append(f"Value{show(value)} at '{path}' failed to satisfy constraint: "
                               f"Member must have value greater than or equal to {lo}")
                elif hi is not None and value > hi:
                    out.append(f"Value{show(value)} at '{path}' failed to satisfy constraint: "
                               f"Member must have value less than or equal to {hi}")
            checks.append(range_check)
        else:
            def length_check(value, path, out, lo=lo, hi=hi):
                n = len(value)
                if lo is not None and n < lo:
                    out.append(f"Value{show(value)} at '{path}' failed to satisfy constraint: "
                               f"Member must have length greater than or equal to {lo}")
                elif hi is not None and n > hi:
                    out.append(f"Value{show(value)} at '{path}' failed to satisfy constraint: "
                               f"Member must have length less than or equal to {hi}")
            checks.append(length_check)
    if getattr(shape, "enum", None):
        allowed = frozenset(shape.enum)
        listing = ", ".join(shape.enum)

        def enum_check(value, path, out):
            if value not in allowed:
                out.append(f"Value{show(value)} at '{path}' failed to satisfy constraint: "
                           f"Member must satisfy enum value set: [{listing}]")
        checks.append(enum_check)
    if "pattern" in meta and tname == "string":
        pattern = re.compile(meta["pattern"])

        def pattern_check(value, path, out):
            if not pattern.fullmatch(value) and not pattern.match(value):
                out.append(f"Value{show(value)} at '{path}' failed to satisfy constraint: "
                           f"Member must satisfy regular expression pattern: {meta['pattern']}")
        checks.append(pattern_check)

    if tname == "structure":
        members = {name: (_checks_for(s), camel(name)) for name, s in shape.members.items()}
        required = tuple((name, camel(name)) for name in shape.required_members)

        def struct_check(value, path, out):
            prefix = f"{path}." if path else ""
            for name, cname in required:
                if value.get(name) is None:
                    out.append(f"Value null at '{prefix}{cname}' failed to satisfy "
                               f"constraint: Member must not be null")
            for name, v in value.items():
                spec = members.get(name)
                if spec is None:
                    raise errors.ValidationException(
                        f"1 validation error detected: Unknown parameter '{prefix}{camel(name)}'")
                if v is not None:
                    checks_, cname = spec
                    for c in checks_:
                        c(v, prefix + cname, out)
        checks.append(struct_check)
    elif tname == "list":
        member = _checks_for(shape.member)

        def list_check(value, path, out):
            for i, v in enumerate(value, 1):
                for c in member:
                    c(v, f"{path}.{i}.member", out)
        checks.append(list_check)
    elif tname == "map":
        kchecks, vchecks = _checks_for(shape.key), _checks_for(shape.value)

        def map_check(value, path, out):
            for k, v in value.items():
                for c in kchecks:
                    c(k, f"{path}.key", out)
                for c in vchecks:
                    c(v, f"{path}.value", out)
        checks.append(map_check)
    return checks


# ----------------------------------------------------------------- fast path
#
# Every request is validated, so the common case must be cheap. For each
# operation kmslab writes one straight-line function that answers "is this
# request certainly valid?" for the constraints above (types, lengths, ranges,
# enums, patterns of scalars and of lists and maps of scalars). It never
# explains: when it says no (or meets a member it does not handle), the full
# validator runs and words AWS's ValidationException.

def _scalar_test(shape, var: str, env: dict) -> str | None:
    """A Python expression true when ``var`` satisfies a scalar shape, or None if not scalar."""
    tname = shape.type_name
    if tname not in _TYPES or tname in ("list", "map", "structure"):
        return None
    meta = shape.metadata
    tname_key = f"T_{tname}"
    env[tname_key] = _TYPES[tname]
    tests = [f"isinstance({var}, {tname_key})"]
    if tname == "string":
        env["TEXT"] = is_text
        tests.append(f"({var}.isascii() or TEXT({var}))")
    if tname in ("integer", "long"):
        tests.append(f"not isinstance({var}, bool)")
    size = var if tname in ("integer", "long") else f"len({var})"
    if "min" in meta:
        tests.append(f"{size} >= {meta['min']!r}")
    if "max" in meta:
        tests.append(f"{size} <= {meta['max']!r}")
    if getattr(shape, "enum", None):
        name = f"E{len(env)}"
        env[name] = frozenset(shape.enum)
        tests.append(f"{var} in {name}")
    if "pattern" in meta and tname == "string":
        name = f"P{len(env)}"
        env[name] = re.compile(meta["pattern"])
        tests.append(f"{name}.match({var}) is not None")
    return " and ".join(tests)


def _fast_member(shape, lines: list[str], env: dict) -> bool:
    """Append the checks of one top-level member held in ``v``; False if not handled."""
    scalar = _scalar_test(shape, "v", env)
    if scalar is not None:
        lines.append(f"    if not ({scalar}): return False")
        return True
    meta = shape.metadata
    size = [f"len(v) >= {meta['min']!r}"] if "min" in meta else []
    size += [f"len(v) <= {meta['max']!r}"] if "max" in meta else []
    if shape.type_name == "list":
        item = _scalar_test(shape.member, "x", env)
        if item is None:
            return False
        lines.append(f"    if not (isinstance(v, (list, tuple)){''.join(' and ' + t for t in size)}):"
                     f" return False")
        lines.append(f"    for x in v:\n        if not ({item}): return False")
        return True
    if shape.type_name == "map":
        k, val = _scalar_test(shape.key, "k", env), _scalar_test(shape.value, "x", env)
        if k is None or val is None:
            return False
        lines.append(f"    if not (isinstance(v, dict){''.join(' and ' + t for t in size)}): return False")
        lines.append(f"    for k, x in v.items():\n        if not ({k} and {val}): return False")
        return True
    return False


def _fast_validator(shape) -> Callable[[dict], bool]:
    env: dict = {"MEMBERS": frozenset(shape.members)}
    lines = ["def fast(p):", "    if not p.keys() <= MEMBERS: return False"]
    required = set(shape.required_members)
    for name, member in shape.members.items():
        lines.append(f"    v = p.get({name!r})")
        if name in required:
            lines.append("    if v is None: return False")
        body: list[str] = []
        if not _fast_member(member, body, env):
            body = ["    return False"]  # not handled here: the full validator decides
        lines.append("    if v is not None:")
        lines += ["    " + line.replace("\n", "\n    ") for line in body]
    lines.append("    return True")
    exec(compile("\n".join(lines), f"<kmslab fast validator {shape.name}>", "exec"), env)
    return env["fast"]


@functools.cache
def validator(operation: str) -> Callable[[dict], None]:
    """A function that validates a request's params for ``operation`` (ValidationException).

    The model's constraints first, then what the API Reference documents beyond
    the model (the operation table): a List operation's Limit range, alias names.
    """
    shape = operation_model(operation).input_shape
    if shape is None:
        return lambda params: None
    checks = _checks_for(shape)
    fast = _fast_validator(shape)
    op = spec(operation)
    limit, alias = op.limit, op.alias_member

    def full(params: dict) -> None:
        problems: list[str] = []
        for c in checks:
            c(params, "", problems)
        if problems:
            n = len(problems)
            raise errors.ValidationException(
                f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(problems))

    if limit is None and alias is None:
        def validate(params: dict) -> None:
            if not fast(params):
                full(params)
        return validate

    def validate_documented(params: dict) -> None:
        if not fast(params):
            full(params)
        if limit is not None:
            _check_limit(params.get("Limit"), limit)
        if alias is not None:
            arns.validate_alias_name(params[alias])
    return validate_documented


def _check_limit(value, limit: tuple[int, int, int]) -> None:
    """A List operation's Limit in the range its API Reference text gives (ValidationException)."""
    if value is None:
        return
    lo, hi, _ = limit
    if value < lo:
        bound = f"greater than or equal to {lo}"
    elif value > hi:
        bound = f"less than or equal to {hi}"
    else:
        return
    raise errors.ValidationException(
        f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint: "
        f"Member must have value {bound}")
