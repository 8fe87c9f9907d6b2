"""kmslab: a faithful AWS KMS inside a Python process, for learning and teaching.

Start with a client::

    import kmslab
    kms = kmslab.client()            # a ready KMS in a default lab
    lab = kmslab.Lab(seed=7)         # or your own simulated world
    kms = kmslab.connect(lab=lab)    # the lab's client, or AWS KMS with KMSLAB_BACKEND=aws
    if kmslab.requires_lab(kms, "moves the lab's clock"):   # against AWS: one line, skipped
        lab.clock.advance(days=7)
"""

from __future__ import annotations

from . import errors
from .client import KMSClient, install_methods
from .clock import VirtualClock
from .lab import Lab, default_lab
from .version import __version__  # noqa: F401 - kmslab.__version__

__all__ = ["Lab", "client", "default_lab", "errors", "KMSClient", "VirtualClock",
           "boto3_client", "connect", "requires_lab", "lab_only", "now", "clean_up"]

# The front ends to and from real AWS tools load on first use: ``import kmslab`` stays light.
_INTEROP = ("boto3_client", "connect", "requires_lab", "lab_only", "now", "clean_up", "lab_of")

install_methods()

def client(service_name: str = "kms", *, region_name: str | None = None, as_=None) -> KMSClient:
    """A boto3-shaped KMS client on the default lab: ``kmslab.client()``."""
    return default_lab().client(service_name, region_name=region_name, as_=as_)


def __getattr__(name: str):
    if name in _INTEROP:
        from . import interop

        return getattr(interop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_INTEROP))
