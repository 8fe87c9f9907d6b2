"""What ``kmslab serve`` reads of uvicorn beyond its public interface is still there.

uvicorn has no public hook for a request head's size, connections per client or a request
deadline, so :func:`kmslab.interop.connections.http_protocol_class` subclasses its HTTP
protocol classes, overrides four of their methods and reads their request cycle
(``cycle.response_started``, ``response_complete``, ``more_body``), ``loop`` and
``transport``; :class:`kmslab.interop.server.ServerThread` reads ``Server.started`` and sets
``Server.should_exit``. pyproject.toml pins the uvicorn releases this is tested with; these
tests fail on a release that drops any of it, before a learner's ``kmslab serve`` does.
"""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest

uvicorn = pytest.importorskip("uvicorn")
from packaging.specifiers import SpecifierSet  # noqa: E402
from packaging.version import Version  # noqa: E402

from kmslab.interop.connections import ConnectionLimits, http_protocol_class  # noqa: E402

PYPROJECT = pathlib.Path(__file__).resolve().parents[2] / "pyproject.toml"
OVERRIDDEN = ("connection_made", "data_received", "on_response_complete", "connection_lost")
CYCLE_ATTRIBUTES = ("response_started", "response_complete", "more_body")
PROTOCOL_ATTRIBUTES = ("cycle", "loop", "transport")


def _implementations():
    from uvicorn.protocols.http import h11_impl
    found = [("h11", h11_impl, h11_impl.H11Protocol)]
    try:
        from uvicorn.protocols.http import httptools_impl
    except ImportError:  # httptools not installed: only h11 is used
        return found
    return found + [("httptools", httptools_impl, httptools_impl.HttpToolsProtocol)]


def _assigned(cls, names) -> list[str]:
    source = inspect.getsource(cls)
    return [name for name in names if not re.search(rf"\bself\.{name}\s*(:[^=]*)?=[^=]", source)]


def test_the_installed_uvicorn_is_one_the_pin_allows():
    pins = re.findall(r'"uvicorn\[standard\]([^"]+)"', PYPROJECT.read_text(encoding="utf-8"))
    assert pins and len(set(pins)) == 1, "one uvicorn range, in the server and test extras alike"
    spec = SpecifierSet(pins[0])
    assert any(s.operator == "<" for s in spec), "the range has an upper bound"
    assert Version(uvicorn.__version__) in spec


@pytest.mark.parametrize("parser, module, base", _implementations(), ids=lambda v: getattr(v, "__name__", v))
def test_the_protocol_methods_kmslab_overrides_are_uvicorns_own(parser, module, base):
    assert [name for name in OVERRIDDEN if name not in vars(base)] == []
    ours = http_protocol_class(ConnectionLimits(), 5.0, parser)
    assert ours.__mro__[1] is base
    assert [name for name in OVERRIDDEN if name not in vars(ours)] == []


@pytest.mark.parametrize("parser, module, base", _implementations(), ids=lambda v: getattr(v, "__name__", v))
def test_the_request_cycle_and_protocol_keep_the_attributes_kmslab_reads(parser, module, base):
    assert _assigned(module.RequestResponseCycle, CYCLE_ATTRIBUTES) == []
    assert _assigned(base, PROTOCOL_ATTRIBUTES) == []


def test_the_server_says_when_it_started_and_takes_should_exit():
    server = uvicorn.Server(uvicorn.Config(app=None))
    assert server.started is False and server.should_exit is False
    assert "self.started = True" in inspect.getsource(uvicorn.Server)
    assert "should_exit" in inspect.getsource(uvicorn.Server.main_loop)


def test_the_check_notices_a_missing_attribute():
    class Cycle:
        def __init__(self):
            self.response_started = False
            self.more_body = True

    assert _assigned(Cycle, CYCLE_ATTRIBUTES) == ["response_complete"]
