"""A small fake lab honouring the backend contract the front ends rely on (tests only)."""

from __future__ import annotations

import threading
import uuid

from kmslab import errors
from kmslab.clock import VirtualClock
from kmslab.identity import Principal

ACCOUNT = "111122223333"
ALICE_KEY_ID = "AKIAALICE00000000001"
ALICE_SECRET = "alice/secret/key/for/tests/only/0000000"


class FakeLab:
    """Just enough KMS to exercise the front ends: keys, Encrypt/Decrypt, ListKeys."""

    def __init__(self, regions=("us-east-1", "eu-west-1"), account=ACCOUNT):
        self.regions = list(regions)
        self.default_account = account
        self.clock = VirtualClock()
        self.keys: dict[tuple[str, str], dict] = {}
        self.calls: list[tuple[str, dict, str, Principal]] = []
        self.alice = Principal(f"arn:aws:iam::{account}:user/alice", account, "IAMUser", "alice",
                               "AIDAALICE", access_key_id=ALICE_KEY_ID)
        self._access_keys = {ALICE_KEY_ID: (self.alice, ALICE_SECRET)}
        self._lock = threading.Lock()

    def authenticate(self, access_key_id, session_token=None):
        try:
            return self._access_keys[access_key_id]
        except KeyError:
            raise errors.UnrecognizedClientException(
                "The security token included in the request is invalid.") from None

    def handle(self, operation, params, *, region, caller, source_ip="127.0.0.1", user_agent=""):
        with self._lock:
            self.calls.append((operation, params, region, caller))
            method = getattr(self, "_" + operation, None)
            if method is None:
                raise errors.UnsupportedOperationException(f"{operation} is not in the fake lab")
            return method(params, region, caller)

    def _metadata(self, key_id, region, created):
        return {"KeyId": key_id, "Arn": f"arn:aws:kms:{region}:{self.default_account}:key/{key_id}",
                "AWSAccountId": self.default_account, "CreationDate": created,
                "Enabled": True, "KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT",
                "KeySpec": "SYMMETRIC_DEFAULT", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
                "Description": "", "MultiRegion": False}

    def _CreateKey(self, params, region, caller):
        key_id = str(uuid.uuid4())
        meta = self._metadata(key_id, region, self.clock.now())
        meta["Description"] = params.get("Description", "")
        self.keys[(region, key_id)] = meta
        return {"KeyMetadata": meta, "Unmodelled": "dropped by the codec"}

    def _key(self, key_id, region):
        try:
            return self.keys[(region, key_id.rsplit("/", 1)[-1])]
        except KeyError:
            raise errors.NotFoundException(
                f"Key 'arn:aws:kms:{region}:{self.default_account}:key/{key_id}' does not exist") from None

    def _DescribeKey(self, params, region, caller):
        return {"KeyMetadata": self._key(params["KeyId"], region)}

    def _ListKeys(self, params, region, caller):
        ids = sorted(k for (r, k) in self.keys if r == region)
        start = int(params.get("Marker", "0"))
        limit = params.get("Limit", 100)
        page = ids[start:start + limit]
        out = {"Keys": [{"KeyId": k, "KeyArn": self.keys[(region, k)]["Arn"]} for k in page],
               "Truncated": start + limit < len(ids)}
        if out["Truncated"]:
            out["NextMarker"] = str(start + limit)
        return out

    def _Encrypt(self, params, region, caller):
        meta = self._key(params["KeyId"], region)
        return {"CiphertextBlob": meta["KeyId"].encode() + b"|" + params["Plaintext"][::-1],
                "KeyId": meta["Arn"], "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def _Decrypt(self, params, region, caller):
        key_id, _, body = params["CiphertextBlob"].partition(b"|")
        if not body:
            raise errors.InvalidCiphertextException("")
        meta = self._key(key_id.decode(), region)
        return {"Plaintext": body[::-1], "KeyId": meta["Arn"],
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def _DisableKey(self, params, region, caller):
        self._key(params["KeyId"], region)["Enabled"] = False
        return {}

    def _ImportKeyMaterial(self, params, region, caller):
        self._key(params["KeyId"], region)["ValidTo"] = params.get("ValidTo")
        return {"KeyId": params["KeyId"], "KeyMaterialId": "0" * 64}

    def _Fail(self, params, region, caller):  # pragma: no cover - used via monkeypatch
        raise errors.KMSInternalException("boom")

