"""The checks every cryptographic operation makes on its key and parameters.

AWS KMS fixes a key's KeyUsage at creation, and each operation needs one
usage (Sign needs SIGN_VERIFY, GenerateMac needs GENERATE_VERIFY_MAC...);
the algorithm a request names must be one the key spec supports. Which usage,
key spec and algorithm member an operation has is its row of the operation
table (:mod:`kmslab.operations.table`); :func:`check_key` applies it (the
pipeline's step 4). Failures are ``InvalidKeyUsageException`` with AWS's wording:

* ``<key ARN> key usage is SIGN_VERIFY which is not valid for Encrypt.``
* ``Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_4096.``

Encryption context is authenticated data for symmetric encryption only, so
operations on asymmetric keys refuse it.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..crypto.backing import BackingKey, interface_for
from ..specs import SYMMETRIC_DEFAULT
from . import states
from .key import Key

__all__ = ["key_check", "check_key", "require_usage", "require_algorithm", "refuse_encryption_context",
           "refuse_recipient", "backing_key"]



def key_check(op, slot) -> Callable[[Key, dict], None] | None:
    """The pipeline's step 4 for one key slot of an operation (compiled once, at registration):
    ``check(key, params)`` raises what AWS raises when the key-state table, custom key store
    support, key usage, key spec or algorithm refuse the request."""
    if slot is None:
        return None
    name = op.name
    row = states.TABLE.get(name)
    ok = states.OK
    custom_ok = op.custom_key_store
    usage, key_spec = slot.usage, slot.key_spec
    member, default = slot.algorithm or (None, None)

    def check(key: Key, params: dict) -> None:
        if row is not None and row[key.state] is not ok:
            states.check(name, key.state, key.arn)
        if not custom_ok and key.custom_key_store_id is not None:
            raise errors.UnsupportedOperationException(
                f"{key.arn} is in custom key store {key.custom_key_store_id}. {name} is not "
                f"valid for KMS keys in a custom key store.")
        if usage is not None and key.usage != usage or key_spec is not None:
            check_key(slot, key, params, name)  # refuses (or checks the key spec)
        elif member is not None:
            algorithm = params.get(member) or default
            if algorithm is not None and algorithm not in key.spec.usages.get(usage, ()):
                require_algorithm(key, usage, algorithm)
    return check


def check_key(slot, key: Key, params: dict, operation: str) -> None:
    """The key's usage, key spec and the request's algorithm, as the operation's table row
    (its :class:`~kmslab.operations.KeySlot`) requires; in AWS's order of errors."""
    if slot.usage is not None:
        require_usage(key, slot.usage, operation)
    if slot.key_spec == SYMMETRIC_DEFAULT and key.spec.name != SYMMETRIC_DEFAULT:
        raise errors.InvalidKeyUsageException(
            f"{key.arn} key usage is {key.usage} and key spec is {key.spec.name}, which is not "
            f"valid for {operation}. Use a symmetric encryption KMS key.")
    if slot.key_spec == "asymmetric" and not key.spec.asymmetric:
        raise errors.UnsupportedOperationException(
            f"{key.arn} key spec is {key.spec.name} which is not valid for {operation}. "
            f"Only asymmetric KMS keys have a public key.")
    if slot.algorithm is not None:
        member, default = slot.algorithm
        algorithm = params.get(member) or default
        if algorithm is not None:
            require_algorithm(key, slot.usage, algorithm)


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


def backing_key(key: Key, interface: type[BackingKey] | None = None):
    """The key's current backing key, as the interface of its usage (or ``interface``).

    The key-state table has refused PendingImport keys before; a key whose
    material is of another kind than its usage needs is refused with
    InvalidKeyUsageException, never used by duck typing.
    """
    version = key.current
    if version is None or version.material is None:
        raise errors.KMSInvalidStateException(f"{key.arn} is pending import.")
    material = version.material
    wanted = interface or interface_for(key.usage, key.symmetric_encryption)
    if not isinstance(material, wanted):
        raise errors.InvalidKeyUsageException(
            f"{key.arn} key usage is {key.usage} and key spec is {key.spec.name}: its key "
            f"material cannot be used as a {wanted.__name__}.")
    return material
