"""The KMS service: the request pipeline and one module per API area."""

from .pipeline import KMSService, Call
from .request import Request
from . import keys, aliases, tags, policies, encryption, grants  # noqa: F401  (register operations)
from . import signing, macs, agreement, data_key_pairs, last_usage  # noqa: F401  (register operations)
from . import rotation, imports  # noqa: F401  (register operations)
from . import keystores, multiregion  # noqa: F401

__all__ = ["KMSService", "Call", "Request"]
