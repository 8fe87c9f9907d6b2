"""Simulated external key store (XKS) proxies and the external key managers behind them.

An external key store keeps its keys outside AWS: KMS talks to an XKS proxy
over HTTPS (SigV4-authenticated with the proxy's access key id and secret),
and the proxy asks the external key manager to encrypt or decrypt. A KMS key
in an external key store is *double encrypted*: first with key material KMS
holds for that key, then by the external key (``XksKeyId``) in the manager.
Pulling the external key (or the proxy) makes the data unreadable, which is
the point of "hold your own key".

    >>> proxy = lab.create_xks_proxy()                       # https://xks.example.com
    >>> proxy.create_external_key("ext-key-1")
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..crypto.symmetric import SymmetricMaterial
from ..service.keystores import BackendUnavailable
from ._log import log_frame

__all__ = ["XksProxies", "XksProxy", "ProxyUnavailable"]

_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NO_MATERIAL_ID = "0" * 64  # the external key manager's own AES-GCM framing names no KMS material


class ProxyUnavailable(BackendUnavailable):
    """The proxy or the external key cannot serve a request; ``reason`` names why:
    ``XKS_PROXY_NOT_REACHABLE``, ``KEY_NOT_FOUND``, ``KEY_DISABLED`` or ``INVALID_CIPHERTEXT``
    (the external key manager could not authenticate the ciphertext or its AAD)."""


@dataclass(slots=True, eq=False)
class ExternalKey:
    key_id: str
    enabled: bool = True
    spec: str = "AES_256"
    usages: tuple = ("ENCRYPT", "DECRYPT")


@dataclass(slots=True, eq=False)
class XksProxy:
    """One XKS proxy (with its external key manager): endpoint, credential, keys, audit log."""

    uri_endpoint: str
    uri_path: str
    access_key_id: str
    _secret: str = field(repr=False)
    reachable: bool = True
    keys: dict[str, ExternalKey] = field(default_factory=dict)
    audit_log: list[dict] = field(default_factory=list)
    _material: dict[str, SymmetricMaterial] = field(default_factory=dict, repr=False)
    _clock: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"<XksProxy {self.uri_endpoint}{self.uri_path} reachable={self.reachable} "
                f"keys={len(self.keys)}>")

    @property
    def credential(self) -> dict:
        """XksProxyAuthenticationCredential for CreateCustomKeyStore (AccessKeyId, RawSecretAccessKey)."""
        return {"AccessKeyId": self.access_key_id, "RawSecretAccessKey": self._secret}

    def rotate_credential(self) -> dict:
        """Issue a new secret on the proxy (KMS must be told with UpdateCustomKeyStore)."""
        self._secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(43))
        self._log("RotateCredential")
        return self.credential

    def authenticate(self, credential: dict) -> bool:
        """Check a SigV4 credential the way the proxy would (constant-time)."""
        return (credential.get("AccessKeyId") == self.access_key_id and hmac.compare_digest(
            str(credential.get("RawSecretAccessKey", "")).encode(), self._secret.encode()))

    # ------------------------------------------------------------ external keys
    def create_external_key(self, key_id: str, *, enabled: bool = True) -> str:
        """Create a 256-bit AES key in the external key manager."""
        if not re.fullmatch(r"[a-zA-Z0-9-_.]{1,128}", key_id):
            raise ValueError("an external key id has 1-128 characters [a-zA-Z0-9-_.]")
        self.keys[key_id] = ExternalKey(key_id, enabled)
        self._material[key_id] = SymmetricMaterial.generate()
        self._log("CreateKey", external_key=key_id)
        return key_id

    def disable_external_key(self, key_id: str) -> None:
        self.keys[key_id].enabled = False
        self._log("DisableKey", external_key=key_id)

    def enable_external_key(self, key_id: str) -> None:
        self.keys[key_id].enabled = True
        self._log("EnableKey", external_key=key_id)

    def delete_external_key(self, key_id: str) -> None:
        """Destroy an external key: everything encrypted under it is lost for good."""
        self.keys.pop(key_id, None)
        self._material.pop(key_id, None)
        self._log("DeleteKey", external_key=key_id)

    def get_key_metadata(self, key_id: str) -> dict:
        """The proxy API's GetKeyMetadata (what KMS checks at CreateKey)."""
        self._require_reachable()
        key = self.keys.get(key_id)
        self._log("GetKeyMetadata", external_key=key_id, result="ok" if key else "not found")
        if key is None:
            raise ProxyUnavailable(f"external key {key_id} not found", "KEY_NOT_FOUND")
        return {"keySpec": key.spec, "keyUsage": list(key.usages),
                "keyStatus": "ENABLED" if key.enabled else "DISABLED"}

    def encrypt(self, key_id: str, key_arn: str, plaintext: bytes, aad: bytes) -> bytes:
        """The proxy API's Encrypt: AES-GCM under the external key, bound to ``aad``;
        returns the IV, the ciphertext and the authentication tag, in that order."""
        material = self._use(key_id, "Encrypt")
        sealed = material.seal(key_arn, _NO_MATERIAL_ID, plaintext, {"kms-aad": aad.hex()})
        return sealed[len(material.header(key_arn, _NO_MATERIAL_ID)):]

    def decrypt(self, key_id: str, key_arn: str, ciphertext: bytes, aad: bytes) -> bytes:
        """The proxy API's Decrypt: ``ciphertext`` as :meth:`encrypt` returned it, and its AAD."""
        from .. import errors
        from ..crypto.symmetric import parse_blob
        material = self._use(key_id, "Decrypt")
        try:
            return material.open(parse_blob(material.header(key_arn, _NO_MATERIAL_ID) + ciphertext),
                                 {"kms-aad": aad.hex()})
        except errors.InvalidCiphertextException:
            self.audit_log[-1]["result"] = "invalid ciphertext or AAD"
            raise ProxyUnavailable("the ciphertext or its AAD is not valid",
                                   "INVALID_CIPHERTEXT") from None

    def _use(self, key_id: str, command: str) -> SymmetricMaterial:
        self._require_reachable()
        key = self.keys.get(key_id)
        if key is None:
            self._log(command, external_key=key_id, result="key not found")
            raise ProxyUnavailable(f"external key {key_id} not found", "KEY_NOT_FOUND")
        if not key.enabled:
            self._log(command, external_key=key_id, result="key disabled")
            raise ProxyUnavailable(f"external key {key_id} is disabled", "KEY_DISABLED")
        self._log(command, external_key=key_id)
        return self._material[key_id]

    def _require_reachable(self) -> None:
        if not self.reachable:
            raise ProxyUnavailable(f"proxy {self.uri_endpoint} is not reachable",
                                   "XKS_PROXY_NOT_REACHABLE")

    def _log(self, command: str, **details) -> None:
        self.audit_log.append({"time": self._clock.now() if self._clock else None,
                               "proxy": self.uri_endpoint, "command": command, **details})

    def audit_frame(self):
        """The proxy's own log as a DataFrame (the external key manager's view)."""
        return log_frame(self.audit_log)


class XksProxies:
    """The external key store proxies a lab knows, by endpoint URI."""

    def __init__(self, lab):
        self._lab = lab
        self.proxies: dict[str, XksProxy] = {}

    def create_proxy(self, uri_endpoint: str = "https://xks.example.com",
                     uri_path: str = "/example/kms/xks/v1", *, keys: tuple[str, ...] = ()) -> XksProxy:
        """A reachable proxy at ``uri_endpoint`` + ``uri_path`` with a fresh credential."""
        lab = self._lab
        access_key_id = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[lab.ids._bits(5)] for _ in range(20))
        proxy = XksProxy(uri_endpoint, uri_path, access_key_id,
                         "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(43)),
                         _clock=lab.clock)
        self.proxies[uri_endpoint + uri_path] = proxy
        for key_id in keys:
            proxy.create_external_key(key_id)
        return proxy

    def find(self, uri_endpoint: str, uri_path: str) -> XksProxy | None:
        return self.proxies.get(uri_endpoint + uri_path)
