"""Plain data, as snapshots and the audit trail hold it: what passes, what is refused and where."""

import pytest

from kmslab.plaindata import DataError, Node, check_plain, plain_copy


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
