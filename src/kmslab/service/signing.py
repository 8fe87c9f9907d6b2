"""Digital signatures and public keys: Sign, Verify, GetPublicKey.

AWS KMS rules modelled here (Sign, Verify and GetPublicKey API reference):

* Sign and Verify need a key with KeyUsage SIGN_VERIFY and a SigningAlgorithm
  the key spec supports, else ``InvalidKeyUsageException``.
* ``MessageType`` RAW (default) hashes the message (1..4,096 bytes); DIGEST
  signs the given digest as is, never hashing it again (its length must match
  the algorithm); EXTERNAL_MU is ML-DSA's 64-byte mu.
* Verify never answers ``SignatureValid: False``: a signature that does not
  verify raises ``KMSInvalidSignatureException``.
* GetPublicKey returns the DER SubjectPublicKeyInfo of an asymmetric key,
  with its KeySpec, KeyUsage and the algorithms for that usage; symmetric
  and HMAC keys have no public key (``UnsupportedOperationException``).

With ``DryRun`` the key, usage and algorithm are checked and nothing is
signed or verified (the pipeline then raises ``DryRunOperationException``).
"""

from __future__ import annotations

from .. import errors
from ..specs import ALGORITHM_FIELDS
from .pipeline import Call
from .registry import operation
from .usage import key_material, require_usage_and_algorithm

__all__ = ["sign", "verify", "get_public_key"]


@operation("Sign", cross_account=True, crypto=True, dry_run=True, read_only=True)
def sign(call: Call, params: dict) -> dict:
    """Sign: a signature over a message (RAW), its digest (DIGEST) or an ML-DSA mu (EXTERNAL_MU)."""
    key = call.key
    algorithm = require_usage_and_algorithm(key, "SIGN_VERIFY", params["SigningAlgorithm"], "Sign")
    if params.get("DryRun"):
        return {"KeyId": key.arn, "SigningAlgorithm": algorithm}
    message_type = params.get("MessageType") or "RAW"
    signature = key_material(key).sign(algorithm, params["Message"], message_type)
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}


@operation("Verify", cross_account=True, crypto=True, dry_run=True, read_only=True)
def verify(call: Call, params: dict) -> dict:
    """Verify: SignatureValid True, or KMSInvalidSignatureException (never False, as in AWS)."""
    key = call.key
    algorithm = require_usage_and_algorithm(key, "SIGN_VERIFY", params["SigningAlgorithm"], "Verify")
    if not params.get("DryRun"):
        message_type = params.get("MessageType") or "RAW"
        if not key_material(key).verify(algorithm, params["Message"], message_type, params["Signature"]):
            raise errors.KMSInvalidSignatureException(
                "The signature verification failed: the signature does not match the message, "
                "the message type, the signing algorithm and this KMS key.")
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}


@operation("GetPublicKey", cross_account=True, read_only=True)
def get_public_key(call: Call, params: dict) -> dict:
    """GetPublicKey: the DER public key of an asymmetric KMS key, with what it may be used for."""
    key = call.key
    spec = key.spec
    if not spec.asymmetric:
        raise errors.UnsupportedOperationException(
            f"{key.arn} key spec is {spec.name} which is not valid for GetPublicKey. "
            f"Only asymmetric KMS keys have a public key.")
    out = {"KeyId": key.arn, "PublicKey": key_material(key).public_key_der()}
    if spec.legacy:
        out["CustomerMasterKeySpec"] = spec.name
    out["KeySpec"] = spec.name
    out["KeyUsage"] = key.usage
    out[ALGORITHM_FIELDS[key.usage]] = list(spec.usages[key.usage])
    return out
