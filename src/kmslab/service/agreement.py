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

With ``DryRun`` only the key, usage and algorithm are checked.
"""

from __future__ import annotations

from .pipeline import Call
from .registry import operation
from .usage import key_material, refuse_recipient, require_usage_and_algorithm

__all__ = ["derive_shared_secret", "encapsulate", "decapsulate"]


@operation("DeriveSharedSecret", cross_account=True, crypto=True, dry_run=True, read_only=True)
def derive_shared_secret(call: Call, params: dict) -> dict:
    """DeriveSharedSecret: the raw ECDH secret between the KMS key and a peer public key."""
    key = call.key
    algorithm = require_usage_and_algorithm(key, "KEY_AGREEMENT", params["KeyAgreementAlgorithm"],
                                            "DeriveSharedSecret")
    refuse_recipient(params, "DeriveSharedSecret")
    out = {"KeyId": key.arn, "KeyAgreementAlgorithm": algorithm, "KeyOrigin": key.origin}
    if not params.get("DryRun"):
        out["SharedSecret"] = key_material(key).derive_shared_secret(algorithm, params["PublicKey"])
    return out


@operation("Encapsulate", cross_account=True, crypto=True, dry_run=True, read_only=True)
def encapsulate(call: Call, params: dict) -> dict:
    """Encapsulate: a fresh 32-byte shared secret and its ML-KEM ciphertext."""
    key = call.key
    algorithm = require_usage_and_algorithm(key, "ENCAPSULATE_DECAPSULATE",
                                            params["EncapsulationAlgorithm"], "Encapsulate")
    if params.get("DryRun"):
        return {"KeyId": key.arn, "EncapsulationAlgorithm": algorithm}
    encapsulation = key_material(key).encapsulate(algorithm)
    return {"KeyId": key.arn, "SharedSecret": encapsulation.shared_secret,
            "SharedSecretCiphertextBlob": encapsulation.ciphertext,
            "EncapsulationAlgorithm": algorithm}


@operation("Decapsulate", cross_account=True, crypto=True, dry_run=True, read_only=True)
def decapsulate(call: Call, params: dict) -> dict:
    """Decapsulate: the shared secret inside an ML-KEM ciphertext."""
    key = call.key
    algorithm = require_usage_and_algorithm(key, "ENCAPSULATE_DECAPSULATE",
                                            params["EncapsulationAlgorithm"], "Decapsulate")
    if params.get("DryRun"):
        return {"KeyId": key.arn, "EncapsulationAlgorithm": algorithm}
    secret = key_material(key).decapsulate(algorithm, params["SharedSecretCiphertextBlob"])
    return {"KeyId": key.arn, "SharedSecret": secret, "EncapsulationAlgorithm": algorithm}
