"""The IAM ``Condition`` element: operators, set operators and how each is evaluated.

One compiled :class:`Condition` per (operator, condition key) pair of a
statement. The rules are IAM's (reference_policies_elements_condition_operators,
reference_policies_condition-single-vs-multi-valued-context-keys):

* several values for one key are ORed; several keys or operators are ANDed;
* condition key names are case-insensitive; values follow the operator
  (``StringEquals`` is case-sensitive, ``StringEqualsIgnoreCase`` is not);
* a key absent from the request fails every operator except the negated ones
  (``StringNotEquals``, ``NotIpAddress``...), ``...IfExists`` and ``Null``;
* ``ForAnyValue:`` is false on an absent or empty set, ``ForAllValues:`` is true.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import errors
from ..clock import parse_time

__all__ = ["Condition", "OPERATORS", "compile_conditions", "glob_regex", "substitute",
           "literal_text", "needs_request"]

_MISSING = object()


#: ``${*}``, ``${?}``, ``${$}``: a literal ``*``, ``?`` and ``$`` where a bare ``*`` or ``?``
#: would be a wildcard (IAM policy variables, "Special characters"). Substitution writes
#: them, and the characters of substituted values, as these private-use stand-ins,
#: which no policy can contain (policies allow only U+0009-U+00FF).
_LITERAL = {"*": "\ue000", "?": "\ue001", "$": "\ue002"}
_AS_LITERAL = str.maketrans({"*": "\ue000", "?": "\ue001"})
_FROM_LITERAL = str.maketrans({v: k for k, v in _LITERAL.items()})
_GLOB = {"*": ".*", "?": "."} | {v: re.escape(k) for k, v in _LITERAL.items()}


def glob_regex(pattern: str) -> re.Pattern:
    """Compile an IAM wildcard pattern (``*`` any run, ``?`` one character), case-sensitive.

    Characters that came from ``${*}``/``${?}``/``${$}`` or from a substituted
    value are literal (see :func:`substitute`).
    """
    body = "".join(_GLOB.get(c) or re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def literal_text(pattern: str) -> str:
    """A substituted pattern as plain text (``${*}`` back to ``*``), for equality operators."""
    return pattern.translate(_FROM_LITERAL)


# ---------------------------------------------------------------- value parsers
def _to_epoch(value: Any) -> float:
    """A Date operator value: ISO 8601 text, epoch seconds, or a datetime."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    return parse_time(text).timestamp()


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _to_bool_text(value: Any) -> str:
    return str(value).lower()


def _to_network(value: Any):
    return ipaddress.ip_network(str(value), strict=False)


def _to_bytes_b64(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------- value matchers
# Each family: (parse policy value at compile time, parse request value, test)
def _arn_parts(arn: str) -> list[str]:
    return arn.split(":", 5)


def _arn_like(request: str, pattern) -> bool:
    req = _arn_parts(request)
    if len(req) != len(pattern):
        return False
    return all(p.fullmatch(r) is not None for p, r in zip(pattern, req, strict=True))


def _compile_arn(value: Any):
    parts = _arn_parts(_str(value))
    return tuple(glob_regex(p) for p in parts)


@dataclass(frozen=True, slots=True)
class _Family:
    compile_value: Callable[[Any], Any]   # policy value -> comparable form
    request_value: Callable[[Any], Any]   # request value -> comparable form
    test: Callable[[Any, Any], bool]      # (request, policy) -> bool
    wildcards: bool = False               # policy values are patterns (``*``, ``?``)


_FAMILIES = {
    "StringEquals": _Family(_str, _str, lambda r, p: r == p),
    "StringEqualsIgnoreCase": _Family(lambda v: _str(v).casefold(), lambda v: _str(v).casefold(),
                                      lambda r, p: r == p),
    "StringLike": _Family(lambda v: glob_regex(_str(v)), _str, lambda r, p: p.fullmatch(r) is not None,
                          wildcards=True),
    "NumericEquals": _Family(_to_number, _to_number, lambda r, p: r == p),
    "NumericLessThan": _Family(_to_number, _to_number, lambda r, p: r < p),
    "NumericLessThanEquals": _Family(_to_number, _to_number, lambda r, p: r <= p),
    "NumericGreaterThan": _Family(_to_number, _to_number, lambda r, p: r > p),
    "NumericGreaterThanEquals": _Family(_to_number, _to_number, lambda r, p: r >= p),
    "DateEquals": _Family(_to_epoch, _to_epoch, lambda r, p: r == p),
    "DateLessThan": _Family(_to_epoch, _to_epoch, lambda r, p: r < p),
    "DateLessThanEquals": _Family(_to_epoch, _to_epoch, lambda r, p: r <= p),
    "DateGreaterThan": _Family(_to_epoch, _to_epoch, lambda r, p: r > p),
    "DateGreaterThanEquals": _Family(_to_epoch, _to_epoch, lambda r, p: r >= p),
    "Bool": _Family(_to_bool_text, _to_bool_text, lambda r, p: r == p),
    "BinaryEquals": _Family(_str, _to_bytes_b64, lambda r, p: r == p),
    "IpAddress": _Family(_to_network, ipaddress.ip_address, lambda r, p: r in p),
    "ArnLike": _Family(_compile_arn, _str, _arn_like, wildcards=True),
}
_FAMILIES["ArnEquals"] = _FAMILIES["ArnLike"]  # IAM: ArnEquals and ArnLike behave the same

#: negated operator -> the positive operator it negates
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}

#: every base operator IAM defines (without IfExists / set-operator qualifiers)
OPERATORS = frozenset(_FAMILIES) | frozenset(_NEGATED) | {"Null"}
_OPERATORS_FOLDED = {op.lower(): op for op in OPERATORS}

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _parse_operator(name: str) -> tuple[str | None, str, bool]:
    """Split ``ForAnyValue:StringLikeIfExists`` into (set operator, base, if_exists)."""
    set_op = None
    rest = name
    if ":" in name:
        prefix, rest = name.split(":", 1)
        set_op = {"foranyvalue": "ForAnyValue", "forallvalues": "ForAllValues"}.get(prefix.lower())
        if set_op is None:
            raise ValueError(name)
    if_exists = rest.lower().endswith("ifexists")
    if if_exists:
        rest = rest[: -len("IfExists")]
    base = _OPERATORS_FOLDED.get(rest.lower())
    if base is None or (base == "Null" and if_exists):
        raise ValueError(name)
    return set_op, base, if_exists


class Condition:
    """One (operator, condition key, values) test of a statement, compiled."""

    __slots__ = ("operator", "set_operator", "base", "if_exists", "negated", "key", "key_folded",
                 "values", "_family", "_compiled", "_templated")

    def __init__(self, operator: str, key: str, values: tuple, *, variables: bool):
        self.operator = operator
        self.set_operator, self.base, self.if_exists = _parse_operator(operator)
        self.negated = self.base in _NEGATED
        self.key = key
        self.key_folded = key.lower()
        self.values = values
        positive = _NEGATED.get(self.base, self.base)
        self._family = _FAMILIES.get(positive)
        # policy variables (${aws:username}) are resolved per request, only in
        # string and ARN operators and only in Version 2012-10-17 documents;
        # values whose only variables are ${*}, ${?}, ${$} are resolved once, here
        substituted = variables and positive.startswith(("String", "Arn")) and any(
            "${" in _str(v) for v in values)
        self._templated = substituted and any(needs_request(_str(v)) for v in values)
        if self.base == "Null":
            self._compiled = tuple(_str(v).lower() for v in values)
        elif self._templated:
            self._compiled = ()
        elif substituted:
            self._compiled = tuple(self._compile_substituted(substitute(_str(v), None)[0])
                                   for v in values)
        else:
            self._compiled = tuple(self._family.compile_value(v)  # type: ignore[union-attr]
                                   for v in values)

    def __repr__(self) -> str:
        return f"Condition({self.operator!r}, {self.key!r}, {list(self.values)!r})"

    @property
    def depends_on_request(self) -> bool:
        """True when a value holds a policy variable resolved from the request."""
        return self._templated

    # ----------------------------------------------------------- evaluation
    def _compile_substituted(self, text: str):
        family = self._family
        assert family is not None  # only operators of a known family get here
        return family.compile_value(text if family.wildcards else literal_text(text))

    def _policy_values(self, lookup) -> tuple:
        if not self._templated:
            return self._compiled
        out = []
        for v in self.values:
            text, ok = substitute(_str(v), lookup)
            if ok:  # a variable without a value: that value matches nothing
                out.append(self._compile_substituted(text))
        return tuple(out)

    def _positive(self, request_value: Any, policy_values: tuple) -> bool:
        family = self._family
        assert family is not None  # only operators of a known family get here
        try:
            r = family.request_value(request_value)
        except (ValueError, TypeError):
            return False
        test = family.test
        for p in policy_values:
            if test(r, p):
                return True
        return False

    def evaluate(self, lookup: Callable[[str], Any]) -> bool:
        """True when the request satisfies this condition.

        ``lookup(folded_key)`` returns the request's value(s) for the key, or
        ``None`` when the request context does not have it.
        """
        raw = lookup(self.key_folded)
        present = raw is not None and not (isinstance(raw, (list, tuple, set, frozenset)) and not raw)
        if self.base == "Null":
            wanted = "false" if present else "true"
            return wanted in self._compiled
        if not present:
            if self.if_exists:
                return True
            if self.set_operator == "ForAllValues":
                return True
            if self.set_operator == "ForAnyValue":
                return False
            return self.negated
        values = raw if isinstance(raw, (list, tuple, set, frozenset)) else (raw,)
        policy_values = self._policy_values(lookup)
        if self.set_operator is None:
            hit = any(self._positive(v, policy_values) for v in values)
            return not hit if self.negated else hit
        negated = self.negated
        if self.set_operator == "ForAnyValue":
            return any(self._positive(v, policy_values) != negated for v in values)
        return all(self._positive(v, policy_values) != negated for v in values)

    def describe(self) -> str:
        vals = self.values[0] if len(self.values) == 1 else list(self.values)
        return f'{self.operator}: {{"{self.key}": {_json_value(vals)}}}'


def _json_value(v) -> str:
    return json.dumps(v)


def needs_request(text: str) -> bool:
    """True when ``text`` holds a policy variable other than ``${*}``, ``${?}``, ``${$}``."""
    return any(m.group(1).strip() not in _LITERAL for m in _VARIABLE.finditer(text))


def substitute(text: str, lookup: Callable[[str], Any] | None) -> tuple[str, bool]:
    """Resolve the policy variables in ``text`` (IAM "Policy variables"); False when one has no value.

    ``${aws:username}`` takes the request's value (``lookup(folded_key)``),
    ``${aws:username, 'guest'}`` a default when the request has none. A
    multivalued key (``${aws:CalledVia}``) has no value as a variable: IAM
    allows only single-valued keys there. The result is a pattern in which ``${*}``,
    ``${?}``, ``${$}`` and every substituted character are literal:
    :func:`glob_regex` treats them as plain characters, :func:`literal_text`
    turns the pattern back into text.
    """
    ok = True

    def repl(m):
        nonlocal ok
        name = m.group(1).strip()
        if name in _LITERAL:
            return _LITERAL[name]
        default = None
        if "," in name:  # ${aws:username, 'guest'}
            name, _, default = name.partition(",")
            name, default = name.strip(), default.strip().strip("'")
        value = lookup(name.lower()) if lookup is not None else None
        if value is None or isinstance(value, (list, tuple)):
            if default is None:
                ok = False
                return ""
            return default.translate(_AS_LITERAL)
        return _str(value).translate(_AS_LITERAL)

    return _VARIABLE.sub(repl, text), ok


def compile_conditions(block: Any, *, variables: bool, where: str) -> tuple[Condition, ...]:
    """Compile a statement's ``Condition`` block, raising MalformedPolicyDocumentException."""
    if not isinstance(block, dict):
        raise errors.MalformedPolicyDocumentException(
            f"{where}: the Condition element must be a JSON object of condition operators.")
    out = []
    for operator, tests in block.items():
        if not isinstance(tests, dict) or not tests:
            raise errors.MalformedPolicyDocumentException(
                f"{where}: condition operator {operator} must map condition keys to values.")
        for key, raw in tests.items():
            values = tuple(raw) if isinstance(raw, list) else (raw,)
            if not values or any(isinstance(v, (dict, list)) or v is None for v in values):
                raise errors.MalformedPolicyDocumentException(
                    f"{where}: condition key {key} under {operator} needs a string, number or "
                    "boolean value, or a list of them.")
            if not isinstance(key, str) or ":" not in key:
                raise errors.MalformedPolicyDocumentException(
                    f"{where}: {key!r} is not a valid condition key (expected prefix:name, "
                    "such as kms:ViaService).")
            try:
                _parse_operator(operator)
            except ValueError:
                raise errors.MalformedPolicyDocumentException(
                    f"{where}: {operator!r} is not a valid condition operator.") from None
            try:
                cond = Condition(operator, key, values, variables=variables)
            except (ValueError, TypeError):
                raise errors.MalformedPolicyDocumentException(
                    f"{where}: a value of {key} is not valid for the {operator} condition "
                    f"operator: {list(values)!r}.") from None
            out.append(cond)
    return tuple(out)
