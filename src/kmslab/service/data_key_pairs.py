"""Data key pairs: GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.

AWS KMS rules modelled here (GenerateDataKeyPair API reference):

* the KMS key must be a symmetric encryption key (KeyUsage ENCRYPT_DECRYPT,
  KeySpec SYMMETRIC_DEFAULT), else ``InvalidKeyUsageException``; the new
  private key (DER PKCS#8) is encrypted under it, bound to the optional
  encryption context, and decrypts with plain Decrypt;
* the public key is returned as DER SubjectPublicKeyInfo, the plaintext
  private key only by GenerateDataKeyPair;
* ``KeyPairSpec`` is any DataKeyPairSpec ``cryptography`` implements
  (``specs.DATA_KEY_PAIR_SPECS``); SM2 and ML_KEM_512 are refused with
  ``UnsupportedOperationException`` saying why.

With ``DryRun`` the key, usage and pair spec are checked and no pair is made.
The pair is generated before the lab's lock is taken (an RSA_4096 prime search
takes up to a second or two): other calls go on meanwhile, and a request
that fails a check under the lock discards its pair.
"""

from __future__ import annotations

from .. import errors
from ..crypto.asymmetric import generate_data_key_pair as new_key_pair
from ..specs import DATA_KEY_PAIR_SPECS, KEY_SPECS, SYMMETRIC_DEFAULT
from .encryption import encrypt_with, require_symmetric
from .pipeline import Call
from .registry import operation
from .usage import refuse_recipient, require_usage

__all__ = ["generate_data_key_pair", "generate_data_key_pair_without_plaintext"]


def _generate(call: Call, params: dict, operation_name: str) -> dict:
    key = call.key
    require_usage(key, "ENCRYPT_DECRYPT", operation_name)
    require_symmetric(key, operation_name)
    pair_spec = params["KeyPairSpec"]
    unsupported = KEY_SPECS[pair_spec].unsupported
    if unsupported:
        raise errors.UnsupportedOperationException(unsupported)
    refuse_recipient(params, operation_name)
    if params.get("DryRun"):
        return {"KeyId": key.arn, "KeyPairSpec": pair_spec}
    prepared = call.request.prepared
    private_der, public_der = prepared if prepared is not None else new_key_pair(pair_spec)
    blob, material_id = encrypt_with(key, private_der, params.get("EncryptionContext"),
                                     SYMMETRIC_DEFAULT, operation_name)
    call.material_id = material_id
    return {"PrivateKeyCiphertextBlob": blob, "PrivateKeyPlaintext": private_der,
            "PublicKey": public_der, "KeyId": key.arn, "KeyPairSpec": pair_spec,
            "KeyMaterialId": material_id}


def _prepare_pair(request) -> None:
    """Before the lab's lock: the key pair of a request that may get one (the handler checks)."""
    params = request.params
    spec = params.get("KeyPairSpec")
    if (type(spec) is str and spec in DATA_KEY_PAIR_SPECS and not KEY_SPECS[spec].unsupported
            and not params.get("DryRun")):
        request.prepared = new_key_pair(spec)


@operation("GenerateDataKeyPair", cross_account=True, crypto=True, dry_run=True, read_only=True,
           prepare=_prepare_pair)
def generate_data_key_pair(call: Call, params: dict) -> dict:
    """GenerateDataKeyPair: a new key pair, its private key also encrypted under the KMS key."""
    return _generate(call, params, "GenerateDataKeyPair")


@operation("GenerateDataKeyPairWithoutPlaintext", cross_account=True, crypto=True, dry_run=True,
           read_only=True, prepare=_prepare_pair)
def generate_data_key_pair_without_plaintext(call: Call, params: dict) -> dict:
    """GenerateDataKeyPairWithoutPlaintext: the public key and the encrypted private key only."""
    out = _generate(call, params, "GenerateDataKeyPairWithoutPlaintext")
    out.pop("PrivateKeyPlaintext", None)
    return out
