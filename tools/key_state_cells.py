# Which cells of the key-state table a set of tests looks up: python tools/key_state_cells.py TESTS...
"""Which cells of the key-state table the given tests look up (a developer tool).

    python tools/key_state_cells.py tests/test_key_state_table.py
    python tools/key_state_cells.py tests/test_key_state_table.py -k through_the_client

Each row of ``kmslab.service.states.TABLE`` is replaced by one that records the states
it is asked for, both the table :func:`~kmslab.service.states.check` reads and the rows the
request pipeline's step 4 captured when the operations were registered
(``kmslab.service.usage.key_check``), so a cell counts whether a test reads it directly or
a request through the client does. Then pytest runs with the given arguments, and the
cells no test looked up are listed.
"""

from __future__ import annotations

import gc
import sys
import types
from pathlib import Path
from types import MappingProxyType

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kmslab.service import states, usage  # noqa: E402

seen: set[tuple[str, str]] = set()


class _Row(dict):
    """A row of the table that records each state it is asked for."""

    def __init__(self, operation: str, row):
        super().__init__(row)
        self.operation = operation

    def __getitem__(self, state):
        seen.add((self.operation, state))
        return super().__getitem__(state)


def _record() -> int:
    """Swap every row for a recording one; return how many step-4 checks were patched."""
    rows = {op: _Row(op, row) for op, row in states.TABLE.items()}
    states.TABLE = MappingProxyType(rows)
    inner = next(c for c in usage.key_check.__code__.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == "check")
    patched = 0
    for f in gc.get_objects():
        if isinstance(f, types.FunctionType) and f.__code__ is inner and f.__closure__:
            cells = dict(zip(f.__code__.co_freevars, f.__closure__, strict=True))
            name = cells["name"].cell_contents
            if name in rows:
                cells["row"].cell_contents = rows[name]
                patched += 1
    return patched


def main(argv: list[str]) -> int:
    patched = _record()
    rc = int(pytest.main(["-q", "-p", "no:randomly", "-p", "no:cacheprovider", *argv]))
    cells = {(op, s) for op in states.TABLE for s in states.STATES}
    print(f"pytest exit {rc}; step-4 checks recorded: {patched}; "
          f"cells looked up: {len(seen & cells)} of {len(cells)}")
    for op, s in sorted(cells - seen):
        print(f"  never looked up: {op} in {s}")
    return rc or (1 if cells - seen else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
