import pytest

from interop_fakes import FakeLab


@pytest.fixture
def lab():
    return FakeLab()
