"""Read-only, hashable JSON-like values: what audit records share and what their dataframes hold.

A :class:`FrozenDict` is a dict that cannot change and can be hashed, so pandas
can keep it as a category (one copy per distinct value); :func:`freeze` gives
any JSON-like value a hashable key.
"""

from __future__ import annotations

__all__ = ["FrozenDict", "freeze"]


class FrozenDict(dict):
    """A dict that cannot change and can be hashed: a value of a dictionary-encoded column.

    Audit records are immutable, so the pieces they share (requestParameters,
    userIdentity, encryption contexts) are read-only; being hashable lets
    pandas keep them as categories (one copy per distinct value).
    """

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(freeze(self))

    def _read_only(self, *args, **kwargs):
        """Refused: a FrozenDict never changes (TypeError)."""
        raise TypeError("audit records are read-only")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _read_only

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def freeze(value):
    """A hashable key for a JSON-like value (dicts and lists become tuples)."""
    t = type(value)
    if t is dict or t is FrozenDict:  # order-independent, as dict equality is
        return ("{", frozenset((k, freeze(v)) for k, v in value.items()))
    if t is list or t is tuple:
        return ("[", *(freeze(v) for v in value))
    return value
