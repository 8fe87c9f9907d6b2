"""HMAC keys: GenerateMac and VerifyMac.

AWS KMS rules modelled here (GenerateMac and VerifyMac API reference):

* the key's KeyUsage must be GENERATE_VERIFY_MAC and the MacAlgorithm the one
  its key spec supports (HMAC_256 <-> HMAC_SHA_256), else
  ``InvalidKeyUsageException``;
* the Message is 1..4,096 bytes; the MAC is a standard RFC 2104 HMAC;
* VerifyMac compares in constant time and never answers ``MacValid: False``:
  a mismatch raises ``KMSInvalidMacException``, with an empty message as AWS
  sends it (kmslab's reason is the exception's ``explanation``).

The key usage and the MAC algorithm are the operation table's rules, checked
by the pipeline; with ``DryRun`` it stops after them.
"""

from __future__ import annotations

from .. import errors
from ..crypto.backing import MacKey
from .pipeline import Call
from .registry import operation
from .usage import backing_key

__all__ = ["generate_mac", "verify_mac"]


@operation("GenerateMac")
def generate_mac(call: Call, params: dict) -> dict:
    """GenerateMac: the HMAC of a message under an HMAC KMS key."""
    key = call.key
    algorithm = params["MacAlgorithm"]
    mac = backing_key(key, MacKey).generate_mac(algorithm, params["Message"])
    return {"Mac": mac, "MacAlgorithm": algorithm, "KeyId": key.arn}


@operation("VerifyMac")
def verify_mac(call: Call, params: dict) -> dict:
    """VerifyMac: MacValid True, or KMSInvalidMacException (never False, as in AWS)."""
    key = call.key
    algorithm = params["MacAlgorithm"]
    if not backing_key(key, MacKey).verify_mac(algorithm, params["Message"], params["Mac"]):
        raise errors.KMSInvalidMacException(  # AWS's message is empty
            "", explanation="The MAC does not match the message, the MAC algorithm and this "
                            "KMS key.")
    return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": algorithm}
