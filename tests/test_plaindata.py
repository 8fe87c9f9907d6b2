"""Plain data, as snapshots and the audit trail hold it: what passes, what is refused and where."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab.plaindata import DataError, Node, check_plain, compact_json, compact_json_bytes, plain_copy


def test_plain_values_pass():
    value = {"a": [1, 2.5, "x", None, True, {"b": []}]}
    check_plain(value, "doc")  # raises nothing
    assert Node(value, "doc").json() is value


@pytest.mark.parametrize("value, path, message", [
    ({"a": {1: "x"}}, "doc.a", "object keys must be strings"),
    ({"a": [b"bytes"]}, "doc.a[0]", "expected a plain value, found bytes"),
    ({"a": ("tuple",)}, "doc.a", "expected a plain value, found tuple"),
    ({"a": {1.5}}, "doc.a", "expected a plain value, found set"),
])
def test_anything_else_is_refused_where_it_is(value, path, message):
    with pytest.raises(DataError) as info:
        check_plain(value, "doc")
    assert (info.value.path, info.value.message) == (path, message)


def test_nesting_is_bounded():
    deep: list = []
    for _ in range(3):
        deep = [deep]
    check_plain(deep, "doc", depth=3)
    with pytest.raises(DataError, match="nested deeper than 2 levels"):
        check_plain(deep, "doc", depth=2)
    with pytest.raises(DataError, match="nested deeper than 2 levels"):
        Node(deep, "doc").json(depth=2)


def test_a_plain_copy_shares_nothing_with_the_original():
    original = {"a": [1, {"b": (2, 3)}]}
    copy = plain_copy(original)
    assert copy == {"a": [1, {"b": [2, 3]}]}
    copy["a"][1]["b"].append(4)
    assert original == {"a": [1, {"b": (2, 3)}]}


# ---------------------------------------------------------------- compact JSON
_STDLIB = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_plain = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_plain)
def test_compact_json_reads_back_as_the_standard_library_writes_it(value):
    text = compact_json(value)
    assert json.loads(text) == json.loads(_STDLIB(value))
    assert compact_json_bytes(value) == text.encode()


@pytest.mark.parametrize("value, text", [
    ({"a": [1, None, True]}, '{"a":[1,null,true]}'),
    ("caf\u00e9", '"caf\u00e9"'),          # orjson: characters as they are (UTF-8)
    ("\ud800", '"\\ud800"'),                # a lone surrogate: the standard library escapes it
    (2**70, str(2**70)),                    # beyond 64 bits: the standard library
    ({1: "a"}, '{"1":"a"}'),                # a key that is not a string: as json.dumps does
    ((1, 2), "[1,2]"),
])
def test_compact_json_writes_what_orjson_leaves_to_the_standard_library(value, text):
    assert compact_json(value) == text


@pytest.mark.parametrize("value", [object(), {"when": datetime(2025, 1, 1, tzinfo=timezone.utc)},
                                   [b"bytes"], {("a", "b"): 1}])
def test_compact_json_refuses_what_json_cannot_hold_as_the_standard_library_does(value):
    with pytest.raises(TypeError):
        compact_json(value)
    with pytest.raises(TypeError):
        compact_json_bytes(value)


def test_compact_json_writes_a_subclass_of_a_plain_type_as_its_value():
    class Text(str):
        pass
    assert compact_json({"a": [Text("x")]}) == '{"a":["x"]}'
