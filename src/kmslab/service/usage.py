"""The checks every cryptographic operation makes on its key and parameters.

AWS KMS fixes a key's KeyUsage at creation, and each operation needs one
usage (Sign needs SIGN_VERIFY, GenerateMac needs GENERATE_VERIFY_MAC...);
the algorithm a request names must be one the key spec supports. Both
failures are ``InvalidKeyUsageException`` with AWS's wording:

* ``<key ARN> key usage is SIGN_VERIFY which is not valid for Encrypt.``
* ``Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_4096.``

Encryption context is authenticated data for symmetric encryption only, so
operations on asymmetric keys refuse it.
"""

from __future__ import annotations

from .. import errors
from .key import Key

__all__ = ["require_usage", "require_algorithm", "require_usage_and_algorithm",
           "refuse_encryption_context", "refuse_recipient", "key_material"]


def require_usage(key: Key, usage: str, operation: str) -> None:
    """InvalidKeyUsageException unless the key's KeyUsage is ``usage``."""
    if key.usage != usage:
        raise errors.InvalidKeyUsageException(
            f"{key.arn} key usage is {key.usage} which is not valid for {operation}.")


def require_algorithm(key: Key, usage: str, algorithm: str) -> str:
    """InvalidKeyUsageException unless the key spec offers ``algorithm`` for ``usage``."""
    if algorithm not in key.spec.usages.get(usage, ()):
        raise errors.InvalidKeyUsageException(
            f"Algorithm {algorithm} is incompatible with key spec {key.spec.name}.")
    return algorithm


def require_usage_and_algorithm(key: Key, usage: str, algorithm: str, operation: str) -> str:
    """Both checks, the KeyUsage first (as AWS reports it); returns ``algorithm``."""
    require_usage(key, usage, operation)
    return require_algorithm(key, usage, algorithm)


def refuse_encryption_context(key: Key, context: dict | None, member: str = "EncryptionContext") -> None:
    """Encryption context is bound only by symmetric encryption keys (ValidationException)."""
    if context:
        raise errors.ValidationException(
            f"{member} is not supported with asymmetric KMS keys: {key.arn} has key spec "
            f"{key.spec.name}. Encryption context applies only to symmetric encryption KMS keys.")


def refuse_recipient(params: dict, operation: str) -> None:
    """``Recipient`` needs a signed Nitro Enclaves attestation document, which a lab cannot make."""
    if params.get("Recipient"):
        raise errors.ValidationException(
            f"{operation} with a Recipient needs an attestation document signed by AWS Nitro "
            f"Enclaves or NitroTPM; kmslab cannot verify one, so it does not support Recipient.")


def key_material(key: Key):
    """The current key material handle of a key (the state table has excluded PendingImport)."""
    version = key.current
    if version is None or version.material is None:
        raise errors.KMSInvalidStateException(f"{key.arn} is pending import.")
    return version.material
