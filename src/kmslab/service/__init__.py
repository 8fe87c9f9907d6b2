"""The KMS service: the request pipeline and one module per API area."""

# importing each API area's module registers its operations
from . import (  # noqa: F401
    agreement,
    aliases,
    data_key_pairs,
    encryption,
    grants,
    imports,
    keys,
    keystores,
    last_usage,
    macs,
    multiregion,
    policies,
    rotation,
    signing,
    tags,
)
from .pipeline import Call, KMSService
from .request import Request

__all__ = ["KMSService", "Call", "Request"]
