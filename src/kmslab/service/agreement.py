"""Shared secrets: DeriveSharedSecret (ECDH) and Encapsulate / Decapsulate (ML-KEM).

AWS KMS rules modelled here (API reference of each operation):

* DeriveSharedSecret needs a key with KeyUsage KEY_AGREEMENT (an
  ECC_NIST_P256/P384/P521 key), KeyAgreementAlgorithm ECDH and the peer's DER
  SubjectPublicKeyInfo on the same curve. It returns the *raw* ECDH shared
  secret; applying a key derivation function is the caller's job.
* Encapsulate and Decapsulate need a key with KeyUsage
  ENCAPSULATE_DECAPSULATE (ML_KEM_768/1024) and EncapsulationAlgorithm ML_KEM.
  Decapsulate rejects only a ciphertext of the wrong length
  (``InvalidCiphertextException``); any other ciphertext yields a secret
  (implicit rejection), so both sides must confirm they agree.
* A usage or algorithm the key does not have is ``InvalidKeyUsageException``.

The key usage and the algorithm are the operation table's rules, checked by
the pipeline; with ``DryRun`` it stops after them.
"""

from __future__ import annotations

from ..crypto.backing import KemKey, KeyAgreementKey
from .pipeline import Call
from .registry import operation
from .usage import backing_key, refuse_recipient

__all__ = ["derive_shared_secret", "encapsulate", "decapsulate"]


def _check_derive(call: Call, params: dict) -> None:
    refuse_recipient(params, "DeriveSharedSecret")


@operation("DeriveSharedSecret", check=_check_derive)
def derive_shared_secret(call: Call, params: dict) -> dict:
    """DeriveSharedSecret: the raw ECDH secret between the KMS key and a peer public key."""
    key = call.key
    algorithm = params["KeyAgreementAlgorithm"]
    secret = backing_key(key, KeyAgreementKey).derive_shared_secret(algorithm, params["PublicKey"])
    return {"KeyId": key.arn, "SharedSecret": secret, "KeyAgreementAlgorithm": algorithm,
            "KeyOrigin": key.origin}


@operation("Encapsulate")
def encapsulate(call: Call, params: dict) -> dict:
    """Encapsulate: a fresh 32-byte shared secret and its ML-KEM ciphertext."""
    key = call.key
    algorithm = params["EncapsulationAlgorithm"]
    encapsulation = backing_key(key, KemKey).encapsulate(algorithm)
    return {"KeyId": key.arn, "SharedSecret": encapsulation.shared_secret,
            "SharedSecretCiphertextBlob": encapsulation.ciphertext,
            "EncapsulationAlgorithm": algorithm}


@operation("Decapsulate")
def decapsulate(call: Call, params: dict) -> dict:
    """Decapsulate: the shared secret inside an ML-KEM ciphertext."""
    key = call.key
    algorithm = params["EncapsulationAlgorithm"]
    secret = backing_key(key, KemKey).decapsulate(algorithm, params["SharedSecretCiphertextBlob"])
    return {"KeyId": key.arn, "SharedSecret": secret, "EncapsulationAlgorithm": algorithm}
