"""Digital signatures and public keys: Sign, Verify, GetPublicKey.

AWS KMS rules modelled here (Sign, Verify and GetPublicKey API reference):

* Sign and Verify need a key with KeyUsage SIGN_VERIFY and a SigningAlgorithm
  the key spec supports, else ``InvalidKeyUsageException``.
* ``MessageType`` RAW (default) hashes the message (1..4,096 bytes); DIGEST
  signs the given digest as is, never hashing it again (its length must match
  the algorithm); EXTERNAL_MU is ML-DSA's 64-byte mu.
* Verify never answers ``SignatureValid: False``: a signature that does not
  verify raises ``KMSInvalidSignatureException``, with an empty message as AWS
  sends it (kmslab's reason is the exception's ``explanation``).
* GetPublicKey returns the DER SubjectPublicKeyInfo of an asymmetric key,
  with its KeySpec, KeyUsage and the algorithms for that usage; symmetric
  and HMAC keys have no public key (``UnsupportedOperationException``).

The key usage, the algorithm (for the key spec) and, for GetPublicKey, an
asymmetric key spec are the operation table's rules, checked by the pipeline;
with ``DryRun`` it stops after them, and nothing is signed or verified.
"""

from __future__ import annotations

from .. import errors
from ..crypto.backing import PublicKeyHolder, SigningKey
from ..specs import ALGORITHM_FIELDS
from .pipeline import Call
from .registry import operation
from .usage import backing_key

__all__ = ["sign", "verify", "get_public_key"]


@operation("Sign")
def sign(call: Call, params: dict) -> dict:
    """Sign: a signature over a message (RAW), its digest (DIGEST) or an ML-DSA mu (EXTERNAL_MU)."""
    key = call.key
    algorithm = params["SigningAlgorithm"]
    message_type = params.get("MessageType") or "RAW"
    signature = backing_key(key, SigningKey).sign(algorithm, params["Message"], message_type)
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}


@operation("Verify")
def verify(call: Call, params: dict) -> dict:
    """Verify: SignatureValid True, or KMSInvalidSignatureException (never False, as in AWS)."""
    key = call.key
    algorithm = params["SigningAlgorithm"]
    message_type = params.get("MessageType") or "RAW"
    if not backing_key(key, SigningKey).verify(algorithm, params["Message"], message_type,
                                               params["Signature"]):
        raise errors.KMSInvalidSignatureException(  # AWS's message is empty
            "", explanation="The signature does not match the message, the message type, the "
                            "signing algorithm and this KMS key.")
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}


@operation("GetPublicKey")
def get_public_key(call: Call, params: dict) -> dict:
    """GetPublicKey: the DER public key of an asymmetric KMS key, with what it may be used for."""
    key = call.key
    spec = key.spec
    out = {"KeyId": key.arn, "PublicKey": backing_key(key, PublicKeyHolder).public_key_der()}
    if spec.legacy:
        out["CustomerMasterKeySpec"] = spec.name
    out["KeySpec"] = spec.name
    out["KeyUsage"] = key.usage
    out[ALGORITHM_FIELDS[key.usage]] = list(spec.usages[key.usage])
    return out
