"""Custom key stores: CreateCustomKeyStore, DescribeCustomKeyStores, ConnectCustomKeyStore,
DisconnectCustomKeyStore, UpdateCustomKeyStore, DeleteCustomKeyStore, and KMS keys in them.

A custom key store puts the key material of its KMS keys in a store you own:
a CloudHSM cluster (``AWS_CLOUDHSM``) or an external key manager behind an
XKS proxy (``EXTERNAL_KEY_STORE``). KMS keeps the key record (policy, state,
aliases) and asks the store for every cryptographic operation. The lab's
clusters and proxies (``lab.cloudhsm``, ``lab.xks``) are looked up by id or
URI at request time, as KMS would reach them over the network.

Rules modelled (AWS KMS Developer Guide, API reference):

* at most 10 custom key stores per account and Region; names unique;
* a CloudHSM key store needs an ACTIVE cluster not used by another store,
  with at least two active HSMs in different Availability Zones, and the
  cluster's trust anchor certificate;
* connecting takes time (CONNECTING, then CONNECTED or FAILED with a
  ConnectionErrorCode); KMS logs in as ``kmsuser`` and rotates its password;
* only symmetric encryption keys (SYMMETRIC_DEFAULT), single-Region, with no
  automatic rotation and no imported material, live in a custom key store;
* disconnecting makes the store's keys ``Unavailable`` (keys pending
  deletion stay ``PendingDeletion``); reconnecting restores their previous
  state; EnableKey/DisableKey on an unavailable key take effect on reconnect;
* a store can be deleted only when disconnected and empty.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from .. import arns, errors
from ..crypto.backing import SealingKey
from ..crypto.symmetric import SymmetricMaterial, encode_context, parse_blob
from . import states
from .key import Key, KeyMaterialVersion
from .pipeline import Call, paginate
from .policies import policy_for_new_key
from .registry import Outcome, operation
from .tags import tags_for_new_key

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["BackendUnavailable", "CustomKeyStore", "CustomKeyStores", "STORE_QUOTA", "CONNECT_TIME"]

STORE_QUOTA = 10
#: how long ConnectCustomKeyStore takes in the lab (AWS: minutes; up to 20 for CloudHSM)
CONNECT_TIME = {"AWS_CLOUDHSM": timedelta(minutes=5), "EXTERNAL_KEY_STORE": timedelta(minutes=1)}
_CLOUDHSM_PARAMS = ("CloudHsmClusterId", "TrustAnchorCertificate", "KeyStorePassword")
_XKS_PARAMS = ("XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyVpcEndpointServiceName",
               "XksProxyVpcEndpointServiceOwner", "XksProxyAuthenticationCredential",
               "XksProxyConnectivity")



class BackendUnavailable(Exception):
    """What a key store's backend (a CloudHSM cluster, an external key store proxy) raises when
    it cannot serve a command; ``reason`` names why (``NO_ACTIVE_HSM``, ``KEY_NOT_FOUND``,
    ``XKS_PROXY_NOT_REACHABLE``, ``KEY_DISABLED``, ``INVALID_CIPHERTEXT``). The backends live in
    the lab's world (:mod:`kmslab.world`) and raise subclasses of it."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason

@dataclass(slots=True, eq=False)
class CustomKeyStore:
    """A custom key store as KMS records it (never its password or proxy secret in repr)."""

    store_id: str
    name: str
    store_type: str
    account: str
    region: str
    created: datetime
    cluster_id: str | None = None
    trust_anchor: str | None = None
    _password: str | None = field(default=None, repr=False)
    xks_endpoint: str | None = None
    xks_path: str | None = None
    xks_connectivity: str | None = None
    xks_vpc_service: str | None = None
    _xks_credential: dict | None = field(default=None, repr=False)
    connection_state: str = "DISCONNECTED"
    error_code: str | None = None
    key_ids: set = field(default_factory=set)
    saved_states: dict = field(default_factory=dict)  # key id -> state to restore on connect
    connect_event: object = field(default=None, repr=False)

    def entry(self) -> dict:
        """DescribeCustomKeyStores' CustomKeyStoresListEntry."""
        out = {"CustomKeyStoreId": self.store_id, "CustomKeyStoreName": self.name}
        if self.store_type == "AWS_CLOUDHSM":
            out["CloudHsmClusterId"] = self.cluster_id
            out["TrustAnchorCertificate"] = self.trust_anchor
        out["ConnectionState"] = self.connection_state
        if self.connection_state == "FAILED" and self.error_code:
            out["ConnectionErrorCode"] = self.error_code
        out["CreationDate"] = self.created
        out["CustomKeyStoreType"] = self.store_type
        if self.store_type == "EXTERNAL_KEY_STORE":
            cfg = {"Connectivity": self.xks_connectivity,
                   "AccessKeyId": self._xks_credential["AccessKeyId"],
                   "UriEndpoint": self.xks_endpoint, "UriPath": self.xks_path}
            if self.xks_vpc_service:
                cfg["VpcEndpointServiceName"] = self.xks_vpc_service
            out["XksProxyConfiguration"] = cfg
        return out


#: AWS: "AWS KMS cryptographic operations return KMSInvalidStateException for all failures
#: related to the external configuration or connection state" of a custom key store (the
#: CloudHSM and external key store troubleshooting pages); these are the pages' messages.
_CLOUDHSM_UNREACHABLE = "KMS cannot communicate with your CloudHSM cluster"
_XKS_MESSAGES = {
    "XKS_PROXY_NOT_REACHABLE": (
        "AWS KMS cannot communicate with the external key store proxy. Verify that your "
        "external key store proxy is active and is connected to the network, and that its URI "
        "path and endpoint URI or VPC service name are correct in your external key store."),
    "KEY_NOT_FOUND": ("The external key store proxy rejected the request because it could not "
                      "find the external key."),
    "KEY_DISABLED": ("The external key store proxy rejected the request because the external "
                     "key is not enabled in the external key manager."),
    "INVALID_CIPHERTEXT": (
        "The external key store proxy rejected the request because the specified ciphertext or "
        "additional authenticated data is corrupted, missing, or otherwise invalid."),
}
_XKS_BAD_INNER = ("The ciphertext that the external key store proxy submitted for decryption, "
                  "or the encryption context, is corrupted, missing, or otherwise invalid.")


def _store_failure(message: str, explanation: str) -> errors.KMSError:
    return errors.KMSInvalidStateException(message, explanation=explanation)


def unreachable(store_type: str, store_id: str) -> errors.KMSError:
    """What a cryptographic operation with a key in a custom key store gets when KMS cannot
    reach the store's CloudHSM cluster or external key store proxy (an outage)."""
    message = (_CLOUDHSM_UNREACHABLE if store_type == "AWS_CLOUDHSM"
               else _XKS_MESSAGES["XKS_PROXY_NOT_REACHABLE"])
    return _store_failure(message, f"Custom key store {store_id} is in an outage.")


class CloudHsmKeyMaterial(SealingKey):
    """The key record's pointer to key material held in a CloudHSM cluster.

    A :class:`~kmslab.crypto.backing.SealingKey` that holds no secret: every
    seal/open is a command to the cluster, found by id at the time of use (so
    a deleted HSM or cluster is felt at once, as KMSInvalidStateException).
    """

    __slots__ = ("_env", "cluster_id", "handle")

    def __init__(self, env: Environment, cluster_id: str, handle: str):
        self._env, self.cluster_id, self.handle = env, cluster_id, handle

    def __repr__(self) -> str:
        return f"<CloudHsmKeyMaterial {self.cluster_id} handle {self.handle}>"

    def _cluster(self):
        cluster = self._env.cloudhsm.get(self.cluster_id)
        if cluster is None:
            raise _store_failure(_CLOUDHSM_UNREACHABLE,
                                 f"The CloudHSM cluster {self.cluster_id} was deleted.")
        return cluster

    def _failure(self, key_arn: str, exc) -> errors.KMSError:
        if exc.reason == "KEY_NOT_FOUND":
            return _store_failure(
                f"The key material for {key_arn} is not in its AWS CloudHSM cluster.",
                f"Key handle {self.handle} was deleted from cluster {self.cluster_id}; restore "
                f"it from a backup of the cluster.")
        return _store_failure(_CLOUDHSM_UNREACHABLE,
                              f"Cluster {self.cluster_id} has no active HSM.")

    def seal(self, key_arn, material_id, plaintext, context=None) -> bytes:
        try:
            return self._cluster().encrypt(self.handle, key_arn, material_id, plaintext, context)
        except BackendUnavailable as exc:
            raise self._failure(key_arn, exc) from None

    def open(self, parts, context=None) -> bytes:
        try:
            return self._cluster().decrypt(self.handle, parts, context)
        except BackendUnavailable as exc:
            raise self._failure(parts.key_arn, exc) from None


class ExternalKeyMaterial(SealingKey):
    """Double encryption for a key in an external key store (a :class:`SealingKey`).

    As AWS KMS does it: the plaintext is encrypted first with key material KMS
    holds for the KMS key, then that ciphertext by the external key
    (``XksKeyId``) in the external key manager, through the proxy, with the
    blob's header and the encryption context as its additional authenticated
    data. Decryption undoes both, the external key first. Either half alone
    reveals nothing. Every failure on the proxy's side, a wrong encryption
    context included, is KMSInvalidStateException, as AWS answers.
    """

    __slots__ = ("_env", "_store", "xks_key_id", "_kms_half")

    def __init__(self, env: Environment, store: CustomKeyStore, xks_key_id: str,
                 kms_half: SymmetricMaterial | None = None):
        self._env, self._store, self.xks_key_id = env, store, xks_key_id
        # KMS's half: new for a new key; a lab snapshot gives back the one it saved
        self._kms_half = kms_half if kms_half is not None else SymmetricMaterial.generate()

    def __repr__(self) -> str:
        return f"<ExternalKeyMaterial {self.xks_key_id} via {self._store.xks_endpoint}>"

    def _proxy(self):
        proxy = self._env.xks.find(self._store.xks_endpoint, self._store.xks_path)
        if proxy is None:
            raise BackendUnavailable("no proxy at the store's URI", "XKS_PROXY_NOT_REACHABLE")
        return proxy

    def _failure(self, exc) -> errors.KMSError:
        return _store_failure(_XKS_MESSAGES[exc.reason],
                              f"External key {self.xks_key_id} via {self._store.xks_endpoint}"
                              f"{self._store.xks_path}: {exc}.")

    def seal(self, key_arn, material_id, plaintext, context=None) -> bytes:
        header = self._kms_half.header(key_arn, material_id)
        inner = self._kms_half.seal(key_arn, material_id, plaintext, context)[len(header):]
        try:
            outer = self._proxy().encrypt(self.xks_key_id, key_arn, inner,
                                          header + encode_context(context))
        except BackendUnavailable as exc:
            raise self._failure(exc) from None
        return header + outer

    def open(self, parts, context=None) -> bytes:
        try:
            inner = self._proxy().decrypt(self.xks_key_id, parts.key_arn,
                                          parts.nonce + parts.ciphertext,
                                          parts.header + encode_context(context))
        except BackendUnavailable as exc:
            raise self._failure(exc) from None
        try:
            return self._kms_half.open(parse_blob(parts.header + inner), context)
        except errors.InvalidCiphertextException:
            raise _store_failure(_XKS_BAD_INNER,
                                 "The inner ciphertext the proxy returned did not decrypt with "
                                 "the KMS key's own key material.") from None


class CustomKeyStores:
    """Every custom key store of a lab (``lab.custom_key_stores``), and CreateKey in them."""

    def __init__(self, env: Environment):
        self._env = env
        self.stores: dict[str, CustomKeyStore] = {}

    def __repr__(self) -> str:
        return f"<CustomKeyStores {len(self.stores)}>"

    def in_region(self, account: str, region: str) -> list[CustomKeyStore]:
        return [s for s in self.stores.values() if s.account == account and s.region == region]

    def get(self, account: str, region: str, store_id: str) -> CustomKeyStore:
        """The store with this id in the account and Region (CustomKeyStoreNotFoundException)."""
        store = self.stores.get(store_id)
        if store is None or store.account != account or store.region != region:
            raise errors.CustomKeyStoreNotFoundException(
                f"Custom key store {store_id} does not exist in this account and Region.")
        return store

    # ------------------------------------------------------------ hooks the core calls
    def create_key(self, call: Call, params: dict, spec, usage: str) -> Outcome:
        """CreateKey with Origin AWS_CLOUDHSM / EXTERNAL_KEY_STORE (or a CustomKeyStoreId)."""
        svc = call.service
        origin = params.get("Origin", "AWS_KMS")
        store_id = params.get("CustomKeyStoreId")
        if store_id is None:
            raise errors.ValidationException(
                f"A CustomKeyStoreId is required for a KMS key with Origin {origin}.")
        store = self.get(svc.account, svc.region, store_id)
        if origin == "AWS_KMS" and "Origin" not in params:
            origin = store.store_type
        if origin != store.store_type:
            raise errors.UnsupportedOperationException(
                f"Origin {origin} is not valid for a KMS key in custom key store {store_id} "
                f"of type {store.store_type}.")
        if spec.name != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
            raise errors.UnsupportedOperationException(
                f"KeySpec {spec.name} is not supported for KMS keys in a custom key store. "
                f"Only SYMMETRIC_DEFAULT keys can be created in a custom key store.")
        if params.get("MultiRegion"):
            raise errors.UnsupportedOperationException(
                "Multi-Region keys cannot be created in a custom key store.")
        xks_key_id = params.get("XksKeyId")
        if store.store_type == "EXTERNAL_KEY_STORE" and not xks_key_id:
            raise errors.ValidationException(
                "XksKeyId is required for a KMS key with Origin EXTERNAL_KEY_STORE.")
        if store.store_type == "AWS_CLOUDHSM" and xks_key_id:
            raise errors.ValidationException(
                "XksKeyId is valid only for KMS keys in an external key store.")
        if store.connection_state != "CONNECTED":
            raise errors.CustomKeyStoreInvalidStateException(
                f"Custom key store {store_id} is not connected: its ConnectionState is "
                f"{store.connection_state}.")
        tags = tags_for_new_key(call, params)
        key_id = self._env.ids.key_id(False)
        arn = arns.key_arn(svc.region, svc.account, key_id)
        policy_text, policy_doc = policy_for_new_key(call, params, svc.account, arn)
        if store.store_type == "AWS_CLOUDHSM":
            material = self._new_cluster_key(store, key_id)
        else:
            material = self._new_external_key(store, xks_key_id)
        key = Key(key_id=key_id, arn=arn, account=svc.account, region=svc.region, created=call.now,
                  spec=spec, usage=usage, origin=store.store_type,
                  description=params.get("Description", ""), state=states.initial("CreateKey"),
                  policy=policy_text,
                  policy_doc=policy_doc, tags=tags, custom_key_store_id=store.store_id,
                  cloudhsm_cluster_id=store.cluster_id, xks_key_id=xks_key_id)
        key.versions.append(KeyMaterialVersion(self._env.ids.key_material_id(), material, call.now))
        svc.keys[key_id] = key
        store.key_ids.add(key_id)
        return Outcome({"KeyMetadata": key.metadata()}, key=key)

    def _new_cluster_key(self, store: CustomKeyStore, key_id: str) -> CloudHsmKeyMaterial:
        cluster = self._env.cloudhsm.get(store.cluster_id)
        if cluster is None or cluster.active_hsm_count() < 2 or cluster.active_availability_zones() < 2:
            raise errors.CloudHsmClusterInvalidConfigurationException(
                f"The CloudHSM cluster {store.cluster_id} must have at least two active HSMs, "
                f"each in a different Availability Zone, to create a KMS key.")
        try:
            handle = cluster.generate_key(label=key_id)
        except BackendUnavailable:
            raise errors.CloudHsmClusterInvalidConfigurationException(
                f"The CloudHSM cluster {store.cluster_id} cannot create keys.") from None
        return CloudHsmKeyMaterial(self._env, store.cluster_id, handle)

    def _new_external_key(self, store: CustomKeyStore, xks_key_id: str) -> ExternalKeyMaterial:
        for other_id in store.key_ids:
            other = self._key(store, other_id)
            if other is not None and other.xks_key_id == xks_key_id:
                raise errors.XksKeyAlreadyInUseException(
                    f"External key {xks_key_id} is already associated with KMS key {other.arn}.")
        proxy = self._env.xks.find(store.xks_endpoint, store.xks_path)
        try:
            if proxy is None:
                raise BackendUnavailable("no proxy", "XKS_PROXY_NOT_REACHABLE")
            meta = proxy.get_key_metadata(xks_key_id)
        except BackendUnavailable as exc:
            if exc.reason == "KEY_NOT_FOUND":
                raise errors.XksKeyNotFoundException(
                    f"The external key store proxy could not find external key {xks_key_id}.") from None
            raise errors.XksProxyUriUnreachableException(
                f"KMS cannot reach the external key store proxy {store.xks_endpoint}.") from None
        if meta["keySpec"] != "AES_256" or meta["keyStatus"] != "ENABLED" \
                or not {"ENCRYPT", "DECRYPT"} <= set(meta["keyUsage"]):
            raise errors.XksKeyInvalidConfigurationException(
                f"External key {xks_key_id} must be an enabled 256-bit AES key that can encrypt "
                f"and decrypt.")
        return ExternalKeyMaterial(self._env, store, xks_key_id)

    def check_generate_random(self, call: Call, store_id: str) -> None:
        """GenerateRandom with CustomKeyStoreId: a connected CloudHSM key store only."""
        store = self.get(call.service.account, call.service.region, store_id)
        if store.store_type != "AWS_CLOUDHSM":
            raise errors.UnsupportedOperationException(
                "GenerateRandom with a CustomKeyStoreId is supported only for CloudHSM key stores.")
        if store.connection_state != "CONNECTED":
            raise errors.CustomKeyStoreInvalidStateException(
                f"Custom key store {store_id} is not connected.")
        cluster = self._env.cloudhsm.get(store.cluster_id)
        if cluster is not None:
            cluster._log("GenerateRandom")

    def remember_state(self, key: Key, state: str) -> None:
        """EnableKey/DisableKey on an Unavailable key: takes effect when the store reconnects."""
        store = self.stores.get(key.custom_key_store_id or "")
        if store is not None:
            store.saved_states[key.key_id] = state

    def on_key_deleted(self, key: Key) -> None:
        """The waiting period ended: KMS makes a best effort to delete the cluster's key."""
        store = self.stores.get(key.custom_key_store_id or "")
        if store is None:
            return
        store.key_ids.discard(key.key_id)
        store.saved_states.pop(key.key_id, None)
        if store.store_type == "AWS_CLOUDHSM" and store.connection_state == "CONNECTED":
            cluster = self._env.cloudhsm.get(store.cluster_id)
            material = key.versions[0].material if key.versions else None
            if cluster is not None and isinstance(material, CloudHsmKeyMaterial):
                cluster.delete_key(material.handle)

    # ------------------------------------------------------------ connection
    def _key(self, store: CustomKeyStore, key_id: str) -> Key | None:
        return self._env.kms_service(store.account, store.region).keys.get(key_id)

    def connect(self, store: CustomKeyStore) -> None:
        store.connection_state = "CONNECTING"
        store.error_code = None
        when = self._env.clock.now() + CONNECT_TIME[store.store_type]
        store.connect_event = self._env.clock.schedule(
            when, partial(_finish_connect, self, store), label=f"connect {store.store_id}")

    def _finish_connect(self, store: CustomKeyStore) -> None:
        store.connect_event = None
        if store.connection_state != "CONNECTING":
            return
        code = self._connection_problem(store)
        if code is not None:
            store.connection_state = "FAILED"
            store.error_code = code
            return
        store.connection_state = "CONNECTED"
        for key_id in list(store.key_ids):
            key = self._key(store, key_id)
            if key is not None and key.state == "Unavailable":
                disabled = store.saved_states.pop(key_id, "Enabled") == "Disabled"
                states.transition(key, "ConnectCustomKeyStore, key disabled meanwhile" if disabled
                                  else "ConnectCustomKeyStore")
        store.saved_states.clear()

    def _connection_problem(self, store: CustomKeyStore) -> str | None:
        """The ConnectionErrorCode a connection attempt ends with, or None."""
        if store.store_type == "AWS_CLOUDHSM":
            cluster = self._env.cloudhsm.get(store.cluster_id)
            if cluster is None:
                return "CLUSTER_NOT_FOUND"
            if not cluster.subnets_present:
                return "SUBNET_NOT_FOUND"
            if cluster.active_hsm_count() < 1:
                return "INSUFFICIENT_CLOUDHSM_HSMS"
            if cluster.kmsuser_password is None:
                return "USER_NOT_FOUND"
            if cluster.kmsuser_locked_out:
                return "USER_LOCKED_OUT"
            if cluster.kmsuser_logged_in:
                return "USER_LOGGED_IN"
            if not cluster.login(store._password or ""):
                return "INVALID_CREDENTIALS"
            # KMS rotates the kmsuser password once logged in, as AWS does
            store._password = secrets.token_urlsafe(24)[:32]
            cluster.kmsuser_password = store._password
            cluster._log("ChangePassword", user="kmsuser", by="AWS KMS")
            return None
        proxy = self._env.xks.find(store.xks_endpoint, store.xks_path)
        if proxy is None or not proxy.reachable:
            return "XKS_PROXY_NOT_REACHABLE"
        if not proxy.authenticate(store._xks_credential):
            return "INVALID_CREDENTIALS"
        return None

    def disconnect(self, store: CustomKeyStore) -> None:
        if store.connect_event is not None:
            store.connect_event.cancel()
            store.connect_event = None
        store.connection_state = "DISCONNECTED"
        store.error_code = None
        for key_id in store.key_ids:
            key = self._key(store, key_id)
            if key is not None and key.state in ("Enabled", "Disabled"):
                store.saved_states[key_id] = key.state
                states.transition(key, "DisconnectCustomKeyStore")


def _finish_connect(stores: CustomKeyStores, store: CustomKeyStore) -> None:
    """Scheduled action: a connection attempt ends (CONNECTED or FAILED)."""
    stores._finish_connect(store)


# ----------------------------------------------------------------- operations

def _stores(call: Call) -> CustomKeyStores:
    return call.env.custom_key_stores


def _store(call: Call, store_id: str) -> CustomKeyStore:
    return _stores(call).get(call.service.account, call.service.region, store_id)


def _check_name_free(call: Call, name: str, store_id: str | None = None) -> None:
    for s in _stores(call).in_region(call.service.account, call.service.region):
        if s.name == name and s.store_id != store_id:
            raise errors.CustomKeyStoreNameInUseException(
                f"The custom key store name {name} is already in use in this account and Region.")


def _check_cluster(call: Call, cluster_id: str, *, store_id: str | None = None):
    """CloudHSM cluster rules shared by CreateCustomKeyStore and UpdateCustomKeyStore."""
    cluster = call.env.cloudhsm.get(cluster_id)
    if cluster is None or cluster.region != call.service.region:
        raise errors.CloudHsmClusterNotFoundException(
            f"CloudHSM cluster {cluster_id} was not found.")
    for s in _stores(call).in_region(call.service.account, call.service.region):
        if s.store_id == store_id or s.store_type != "AWS_CLOUDHSM":
            continue
        other = call.env.cloudhsm.clusters.get(s.cluster_id)
        if s.cluster_id == cluster_id or (
                other is not None and other.certificate_fingerprint == cluster.certificate_fingerprint):
            raise errors.CloudHsmClusterInUseException(
                f"CloudHSM cluster {cluster_id} is already associated with custom key store "
                f"{s.store_id}, or shares a backup history with its cluster.")
    if cluster.state != "ACTIVE":
        raise errors.CloudHsmClusterNotActiveException(
            f"CloudHSM cluster {cluster_id} is not active (state {cluster.state}).")
    if cluster.active_hsm_count() < 2 or cluster.active_availability_zones() < 2:
        raise errors.CloudHsmClusterInvalidConfigurationException(
            f"CloudHSM cluster {cluster_id} must have at least two active HSMs, each in a "
            f"different Availability Zone.")
    return cluster


def _check_proxy(call: Call, endpoint: str, path: str, connectivity: str | None,
                 credential: dict, *, store_id: str | None = None) -> None:
    """External key store proxy rules shared by Create- and UpdateCustomKeyStore."""
    if connectivity == "VPC_ENDPOINT_SERVICE":
        raise errors.XksProxyVpcEndpointServiceNotFoundException(
            "KMS could not find the specified VPC endpoint service (the lab simulates "
            "PUBLIC_ENDPOINT proxies only).")
    for s in _stores(call).in_region(call.service.account, call.service.region):
        if s.store_id != store_id and s.store_type == "EXTERNAL_KEY_STORE" \
                and s.xks_endpoint == endpoint and s.xks_path == path:
            raise errors.XksProxyUriInUseException(
                f"The proxy URI {endpoint}{path} is already associated with custom key store "
                f"{s.store_id} in this Region.")
    proxy = call.env.xks.find(endpoint, path)
    if proxy is None or not proxy.reachable:
        raise errors.XksProxyUriUnreachableException(
            f"KMS was unable to reach the external key store proxy at {endpoint}{path}.")
    if not proxy.authenticate(credential):
        raise errors.XksProxyIncorrectAuthenticationCredentialException(
            "The proxy credentials failed to authenticate to the external key store proxy.")


@operation("CreateCustomKeyStore")
def create_custom_key_store(call: Call, params: dict) -> dict:
    """CreateCustomKeyStore: a CloudHSM key store or an external key store (DISCONNECTED)."""
    svc = call.service
    store_type = params.get("CustomKeyStoreType", "AWS_CLOUDHSM")
    name = params["CustomKeyStoreName"]
    if store_type == "AWS_CLOUDHSM":
        extra = [p for p in _XKS_PARAMS if params.get(p) is not None]
        missing = [p for p in _CLOUDHSM_PARAMS if params.get(p) is None]
    else:
        extra = [p for p in _CLOUDHSM_PARAMS if params.get(p) is not None]
        missing = [p for p in ("XksProxyUriEndpoint", "XksProxyUriPath",
                               "XksProxyAuthenticationCredential", "XksProxyConnectivity")
                   if params.get(p) is None]
    if extra:
        raise errors.ValidationException(
            f"{', '.join(extra)} is not valid for a custom key store of type {store_type}.")
    if missing:
        raise errors.ValidationException(
            f"{', '.join(missing)} is required for a custom key store of type {store_type}.")
    _check_name_free(call, name)
    if len(_stores(call).in_region(svc.account, svc.region)) >= STORE_QUOTA:
        raise errors.LimitExceededException(
            f"You have reached the limit of {STORE_QUOTA} custom key stores in this account "
            f"and Region.")
    store_id = "cks-" + call.env.ids.hex(9)[:17]
    store = CustomKeyStore(store_id, name, store_type, svc.account, svc.region, call.now)
    if store_type == "AWS_CLOUDHSM":
        cluster = _check_cluster(call, params["CloudHsmClusterId"])
        if params["TrustAnchorCertificate"].strip() != cluster.trust_anchor_certificate.strip():
            raise errors.IncorrectTrustAnchorException(
                f"The trust anchor certificate in the request is not the trust anchor certificate "
                f"for CloudHSM cluster {cluster.cluster_id}.")
        store.cluster_id = cluster.cluster_id
        store.trust_anchor = cluster.trust_anchor_certificate
        store._password = params["KeyStorePassword"]
    else:
        _check_proxy(call, params["XksProxyUriEndpoint"], params["XksProxyUriPath"],
                     params["XksProxyConnectivity"], params["XksProxyAuthenticationCredential"])
        store.xks_endpoint = params["XksProxyUriEndpoint"]
        store.xks_path = params["XksProxyUriPath"]
        store.xks_connectivity = params["XksProxyConnectivity"]
        store._xks_credential = dict(params["XksProxyAuthenticationCredential"])
    _stores(call).stores[store_id] = store
    return {"CustomKeyStoreId": store_id}


@operation("DescribeCustomKeyStores")
def describe_custom_key_stores(call: Call, params: dict) -> dict:
    """DescribeCustomKeyStores: all stores, or the one named by id or name (paged)."""
    svc = call.service
    store_id, name = params.get("CustomKeyStoreId"), params.get("CustomKeyStoreName")
    if store_id and name:
        raise errors.ValidationException(
            "You cannot specify both CustomKeyStoreId and CustomKeyStoreName.")
    stores = _stores(call).in_region(svc.account, svc.region)
    if store_id:
        stores = [_store(call, store_id)]
    elif name:
        stores = [s for s in stores if s.name == name]
        if not stores:
            raise errors.CustomKeyStoreNotFoundException(
                f"Custom key store named {name} does not exist in this account and Region.")
    return paginate(call, [s.entry() for s in stores], "CustomKeyStores")


@operation("ConnectCustomKeyStore")
def connect_custom_key_store(call: Call, params: dict) -> dict:
    """ConnectCustomKeyStore: starts connecting (CONNECTING); DescribeCustomKeyStores tells the end."""
    store = _store(call, params["CustomKeyStoreId"])
    if store.connection_state in ("DISCONNECTING", "FAILED"):
        raise errors.CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is {store.connection_state}; disconnect it "
            f"before connecting again.")
    if store.connection_state in ("CONNECTED", "CONNECTING"):
        return {}
    if store.store_type == "AWS_CLOUDHSM":
        cluster = call.env.cloudhsm.get(store.cluster_id)
        if cluster is not None and cluster.state != "ACTIVE":
            raise errors.CloudHsmClusterNotActiveException(
                f"CloudHSM cluster {store.cluster_id} is not active.")
    _stores(call).connect(store)
    return {}


@operation("DisconnectCustomKeyStore")
def disconnect_custom_key_store(call: Call, params: dict) -> dict:
    """DisconnectCustomKeyStore: DISCONNECTED; the store's keys become Unavailable."""
    store = _store(call, params["CustomKeyStoreId"])
    if store.connection_state in ("DISCONNECTING", "DISCONNECTED"):
        raise errors.CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is already {store.connection_state}.")
    _stores(call).disconnect(store)
    return {}


@operation("UpdateCustomKeyStore")
def update_custom_key_store(call: Call, params: dict) -> dict:
    """UpdateCustomKeyStore: rename any time; other properties only while DISCONNECTED."""
    store = _store(call, params["CustomKeyStoreId"])
    changes = {k: v for k, v in params.items() if k != "CustomKeyStoreId" and v is not None}
    wrong = [p for p in (_XKS_PARAMS if store.store_type == "AWS_CLOUDHSM" else _CLOUDHSM_PARAMS)
             if p in changes]
    if wrong:
        raise errors.ValidationException(
            f"{', '.join(wrong)} is not valid for a custom key store of type {store.store_type}.")
    live_ok = {"NewCustomKeyStoreName"}
    if store.store_type == "EXTERNAL_KEY_STORE":
        live_ok |= {"XksProxyAuthenticationCredential", "XksProxyUriPath"}
    if store.connection_state != "DISCONNECTED" and not (
            store.connection_state == "CONNECTED" and set(changes) <= live_ok):
        raise errors.CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} must be disconnected to update "
            f"{', '.join(sorted(set(changes) - live_ok)) or 'it'} (ConnectionState "
            f"{store.connection_state}).")
    if "NewCustomKeyStoreName" in changes:
        _check_name_free(call, changes["NewCustomKeyStoreName"], store.store_id)
    if "CloudHsmClusterId" in changes and changes["CloudHsmClusterId"] != store.cluster_id:
        new = call.env.cloudhsm.get(changes["CloudHsmClusterId"])
        old = call.env.cloudhsm.clusters.get(store.cluster_id)
        if new is None:
            raise errors.CloudHsmClusterNotFoundException(
                f"CloudHSM cluster {changes['CloudHsmClusterId']} was not found.")
        if old is not None and new.certificate_fingerprint != old.certificate_fingerprint:
            raise errors.CloudHsmClusterNotRelatedException(
                f"CloudHSM cluster {new.cluster_id} has a different cluster certificate than "
                f"the original cluster {store.cluster_id}; it must share its backup history.")
        _check_cluster(call, new.cluster_id, store_id=store.store_id)
    if store.store_type == "EXTERNAL_KEY_STORE" and set(changes) & {
            "XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyAuthenticationCredential",
            "XksProxyConnectivity"}:
        _check_proxy(call, changes.get("XksProxyUriEndpoint", store.xks_endpoint),
                     changes.get("XksProxyUriPath", store.xks_path),
                     changes.get("XksProxyConnectivity", store.xks_connectivity),
                     changes.get("XksProxyAuthenticationCredential", store._xks_credential),
                     store_id=store.store_id)
    # all checks passed: apply
    if "NewCustomKeyStoreName" in changes:
        store.name = changes["NewCustomKeyStoreName"]
    if "CloudHsmClusterId" in changes:
        store.cluster_id = changes["CloudHsmClusterId"]
        for key_id in store.key_ids:
            key = _stores(call)._key(store, key_id)
            if key is not None:
                key.cloudhsm_cluster_id = store.cluster_id
                for v in key.versions:
                    if isinstance(v.material, CloudHsmKeyMaterial):
                        v.material.cluster_id = store.cluster_id
    if "KeyStorePassword" in changes:
        store._password = changes["KeyStorePassword"]
    if "XksProxyUriEndpoint" in changes:
        store.xks_endpoint = changes["XksProxyUriEndpoint"]
    if "XksProxyUriPath" in changes:
        store.xks_path = changes["XksProxyUriPath"]
    if "XksProxyConnectivity" in changes:
        store.xks_connectivity = changes["XksProxyConnectivity"]
    if "XksProxyAuthenticationCredential" in changes:
        store._xks_credential = dict(changes["XksProxyAuthenticationCredential"])
    return {}


@operation("DeleteCustomKeyStore")
def delete_custom_key_store(call: Call, params: dict) -> dict:
    """DeleteCustomKeyStore: only a DISCONNECTED store with no KMS keys (the cluster is untouched)."""
    store = _store(call, params["CustomKeyStoreId"])
    if store.key_ids:
        raise errors.CustomKeyStoreHasCMKsException(
            f"Custom key store {store.store_id} contains {len(store.key_ids)} KMS key(s). "
            f"Delete them (ScheduleKeyDeletion) before deleting the custom key store.")
    if store.connection_state != "DISCONNECTED":
        raise errors.CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} must be disconnected before it is deleted "
            f"(ConnectionState {store.connection_state}).")
    del _stores(call).stores[store.store_id]
    return {}
