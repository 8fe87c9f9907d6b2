"""Shared helpers for the envelope and latency tests."""

from __future__ import annotations

import kmslab


class Recording:
    """Wraps a boto3-shaped KMS client; records operation names and data keys seen."""

    def __init__(self, kms):
        self._kms = kms
        self.calls: list[str] = []
        self.data_keys: list[bytes] = []

    def _call(self, name, operation, **params):
        self.calls.append(name)
        response = getattr(self._kms, operation)(**params)
        if "Plaintext" in response and operation in ("generate_data_key", "decrypt"):
            self.data_keys.append(response["Plaintext"])
        return response

    def generate_data_key(self, **params):
        return self._call("GenerateDataKey", "generate_data_key", **params)

    def encrypt(self, **params):
        return self._call("Encrypt", "encrypt", **params)

    def decrypt(self, **params):
        return self._call("Decrypt", "decrypt", **params)

    def __getattr__(self, name):
        return getattr(self._kms, name)


def make_kms():
    """kmslab's own client on a fresh lab."""
    return kmslab.Lab(seed=1).client()


def new_key(kms) -> tuple[str, str]:
    """Create a symmetric key; returns (key id, key ARN)."""
    meta = kms.create_key()["KeyMetadata"]
    return meta["KeyId"], meta["Arn"]
