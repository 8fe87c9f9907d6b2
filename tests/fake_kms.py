"""A small stand-in for a boto3 ``kms`` client (symmetric keys only), used
where the test needs to count or break KMS calls precisely."""

from __future__ import annotations

import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab import errors

REGION, ACCOUNT = "us-east-1", "111122223333"


class FakeKMS:
    def __init__(self):
        self._keys: dict[str, bytes] = {}
        self._enabled: dict[str, bool] = {}
        self.calls: list[str] = []

    def _arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"

    def _resolve(self, key_id: str) -> str:
        bare = key_id.rsplit("/", 1)[-1]
        if bare not in self._keys:
            raise errors.error_class("NotFoundException")(f"Key '{self._arn(bare)}' does not exist")
        if not self._enabled[bare]:
            raise errors.error_class("DisabledException")(f"{self._arn(bare)} is disabled.")
        return bare

    @staticmethod
    def _aad(context) -> bytes:
        return json.dumps(context or {}, sort_keys=True).encode()

    def create_key(self, Description: str = "") -> dict:
        key_id = str(uuid.uuid4())
        self._keys[key_id] = AESGCM.generate_key(256)
        self._enabled[key_id] = True
        return {"KeyMetadata": {"KeyId": key_id, "Arn": self._arn(key_id)}}

    def disable_key(self, KeyId: str) -> dict:
        self._enabled[KeyId.rsplit("/", 1)[-1]] = False
        return {}

    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext=None) -> dict:
        self.calls.append("Encrypt")
        key_id = self._resolve(KeyId)
        if not 1 <= len(Plaintext) <= 4096:
            raise errors.error_class("ValidationException")("Plaintext length out of range")
        nonce = os.urandom(12)
        blob = key_id.encode() + nonce + AESGCM(self._keys[key_id]).encrypt(
            nonce, Plaintext, self._aad(EncryptionContext))
        return {"CiphertextBlob": blob, "KeyId": self._arn(key_id),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def generate_data_key(self, KeyId: str, KeySpec: str = "AES_256", EncryptionContext=None) -> dict:
        self.calls.append("GenerateDataKey")
        key_id = self._resolve(KeyId)
        data_key = os.urandom(32 if KeySpec == "AES_256" else 16)
        nonce = os.urandom(12)
        blob = key_id.encode() + nonce + AESGCM(self._keys[key_id]).encrypt(
            nonce, data_key, self._aad(EncryptionContext))
        return {"Plaintext": data_key, "CiphertextBlob": blob, "KeyId": self._arn(key_id)}

    def decrypt(self, CiphertextBlob: bytes, KeyId: str | None = None, EncryptionContext=None) -> dict:
        self.calls.append("Decrypt")
        owner = CiphertextBlob[:36].decode(errors="replace")
        if KeyId is not None and self._resolve(KeyId) != owner:
            raise errors.error_class("IncorrectKeyException")(
                "The key ID in the request does not identify a KMS key that can perform this operation.")
        key_id = self._resolve(owner)
        try:
            plaintext = AESGCM(self._keys[key_id]).decrypt(
                CiphertextBlob[36:48], CiphertextBlob[48:], self._aad(EncryptionContext))
        except InvalidTag:
            raise errors.error_class("InvalidCiphertextException")("") from None
        return {"Plaintext": plaintext, "KeyId": self._arn(key_id),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
