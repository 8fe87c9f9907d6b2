"""Data key pairs: GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.

AWS KMS rules modelled here (GenerateDataKeyPair API reference):

* the KMS key must be a symmetric encryption key (KeyUsage ENCRYPT_DECRYPT,
  KeySpec SYMMETRIC_DEFAULT), else ``InvalidKeyUsageException``, and not in a
  custom key store (``UnsupportedOperationException``): both are the operation
  table's rules, checked by the pipeline; the new
  private key (DER PKCS#8) is encrypted under it, bound to the optional
  encryption context, and decrypts with plain Decrypt;
* the public key is returned as DER SubjectPublicKeyInfo, the plaintext
  private key only by GenerateDataKeyPair;
* ``KeyPairSpec`` is any DataKeyPairSpec ``cryptography`` implements
  (``specs.DATA_KEY_PAIR_SPECS``); SM2 and ML_KEM_512 are refused with
  ``UnsupportedOperationException`` saying why.

With ``DryRun`` the key, usage and pair spec are checked and no pair is made
(the pipeline stops before the handler). The pair is generated before the
lab's lock is taken (an RSA_4096 prime search takes up to a second or two):
other calls go on meanwhile, and a request that fails a check under the lock
discards its pair.
"""

from __future__ import annotations

from .. import errors
from ..crypto.asymmetric import generate_data_key_pair as new_key_pair
from ..specs import DATA_KEY_PAIR_SPECS, KEY_SPECS, SYMMETRIC_DEFAULT
from .encryption import encrypt_with
from .pipeline import Call
from .registry import Outcome, operation
from .usage import refuse_recipient

__all__ = ["generate_data_key_pair", "generate_data_key_pair_without_plaintext"]


def _check(call: Call, params: dict) -> None:
    unsupported = KEY_SPECS[params["KeyPairSpec"]].unsupported
    if unsupported:
        raise errors.UnsupportedOperationException(unsupported)
    refuse_recipient(params, call.op.name)


def _generate(call: Call, params: dict) -> tuple[dict, str | None]:
    key = call.key
    pair_spec = params["KeyPairSpec"]
    prepared = call.request.prepared
    private_der, public_der = prepared if prepared is not None else new_key_pair(pair_spec)
    blob, material_id = encrypt_with(key, private_der, params.get("EncryptionContext"),
                                     SYMMETRIC_DEFAULT)
    return {"PrivateKeyCiphertextBlob": blob, "PrivateKeyPlaintext": private_der,
            "PublicKey": public_der, "KeyId": key.arn, "KeyPairSpec": pair_spec,
            "KeyMaterialId": material_id}, material_id


def _prepare_pair(request) -> None:
    """Before the lab's lock: the key pair of a request that may get one (the checks come later)."""
    params = request.params
    spec = params.get("KeyPairSpec")
    if (type(spec) is str and spec in DATA_KEY_PAIR_SPECS and not KEY_SPECS[spec].unsupported
            and not params.get("DryRun")):
        request.prepared = new_key_pair(spec)


@operation("GenerateDataKeyPair", check=_check, prepare=_prepare_pair)
def generate_data_key_pair(call: Call, params: dict) -> Outcome:
    """GenerateDataKeyPair: a new key pair, its private key also encrypted under the KMS key."""
    out, material_id = _generate(call, params)
    return Outcome(out, material_id=material_id)


@operation("GenerateDataKeyPairWithoutPlaintext", check=_check, prepare=_prepare_pair)
def generate_data_key_pair_without_plaintext(call: Call, params: dict) -> Outcome:
    """GenerateDataKeyPairWithoutPlaintext: the public key and the encrypted private key only."""
    out, material_id = _generate(call, params)
    del out["PrivateKeyPlaintext"]
    return Outcome(out, material_id=material_id)
