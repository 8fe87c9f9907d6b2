"""kmslab: a faithful AWS KMS inside a Python process, for learning and teaching.

    import kmslab
    kms = kmslab.client()            # a ready KMS in a default lab
    lab = kmslab.Lab(seed=7)         # or your own simulated world
"""

from __future__ import annotations

from . import errors
from .clock import VirtualClock
from .client import KMSClient, install_methods
from .lab import Lab

__version__ = "0.1.0"
__all__ = ["Lab", "client", "default_lab", "errors", "KMSClient", "VirtualClock"]

install_methods()

_DEFAULT_LAB: Lab | None = None


def default_lab() -> Lab:
    """The lab ``kmslab.client()`` uses (created on first use)."""
    global _DEFAULT_LAB
    if _DEFAULT_LAB is None:
        _DEFAULT_LAB = Lab()
    return _DEFAULT_LAB


def client(service_name: str = "kms", *, region_name: str | None = None, as_=None) -> KMSClient:
    """A boto3-shaped KMS client on the default lab: ``kmslab.client()``."""
    return default_lab().client(service_name, region_name=region_name, as_=as_)
