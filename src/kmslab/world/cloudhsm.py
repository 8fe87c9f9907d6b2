"""Simulated AWS CloudHSM clusters: the HSMs behind a CloudHSM key store.

A cluster holds its own key material (256-bit AES keys that never leave it),
a kmsuser crypto user with a password, a trust anchor certificate created
when it was initialized, HSMs in Availability Zones, and its own audit log of
the commands it ran (CloudHSM's audit logs, separate from CloudTrail).

    >>> cluster = lab.create_cloudhsm_cluster(hsm_count=2)   # an id: cluster-...
    >>> lab.cloudhsm.cluster(cluster).add_hsm()
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..crypto.certificates import self_signed_ca_certificate
from ..crypto.symmetric import SymmetricMaterial
from ..service.keystores import BackendUnavailable
from ._log import log_frame

__all__ = ["CloudHsm", "CloudHsmCluster", "Hsm", "ClusterUnavailable"]

_ID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_AZ_SUFFIXES = "abcdef"


class ClusterUnavailable(BackendUnavailable):
    """The cluster cannot serve a command; ``reason``: ``NO_ACTIVE_HSM`` or ``KEY_NOT_FOUND``."""

    def __init__(self, message: str, reason: str = "NO_ACTIVE_HSM"):
        super().__init__(message, reason)


@dataclass(slots=True)
class Hsm:
    """One HSM of a cluster, in one Availability Zone."""

    hsm_id: str
    availability_zone: str
    state: str = "ACTIVE"  # CREATE_IN_PROGRESS, ACTIVE, DEGRADED, DELETE_IN_PROGRESS, DELETED


@dataclass(slots=True, eq=False)
class CloudHsmCluster:
    """One CloudHSM cluster: HSMs, the kmsuser account, key material, audit log."""

    cluster_id: str
    region: str
    account: str
    created: datetime
    trust_anchor_certificate: str  # customerCA.crt, PEM
    certificate_fingerprint: str  # the cluster certificate: shared by clusters of one backup lineage
    state: str = "ACTIVE"  # UNINITIALIZED, INITIALIZED, ACTIVE, DEGRADED, DELETED
    hsms: list[Hsm] = field(default_factory=list)
    kmsuser_password: str | None = None  # None: no kmsuser crypto user
    kmsuser_logged_in: bool = False
    kmsuser_locked_out: bool = False
    subnets_present: bool = True
    audit_log: list[dict] = field(default_factory=list)
    _keys: dict[str, SymmetricMaterial] = field(default_factory=dict, repr=False)
    _clock: Any = field(default=None, repr=False)
    _hsm_seq: int = 0

    def __repr__(self) -> str:
        return (f"<CloudHsmCluster {self.cluster_id} {self.state} "
                f"active HSMs={self.active_hsm_count()} keys={len(self._keys)}>")

    # ------------------------------------------------------------ HSMs
    def add_hsm(self, availability_zone: str | None = None) -> str:
        """CloudHSM CreateHsm: a new ACTIVE HSM (Availability Zones a, b, c... in turn)."""
        az = availability_zone or f"{self.region}{_AZ_SUFFIXES[len(self.hsms) % len(_AZ_SUFFIXES)]}"
        self._hsm_seq += 1
        hsm = Hsm(f"hsm-{self.cluster_id[8:17].lower()}{self._hsm_seq:02d}", az)
        self.hsms.append(hsm)
        self._log("CreateHsm", hsm=hsm.hsm_id, availability_zone=az)
        return hsm.hsm_id

    def delete_hsm(self, hsm_id: str | None = None) -> None:
        """CloudHSM DeleteHsm (the last active one when no id is given)."""
        active = [h for h in self.hsms if h.state == "ACTIVE"]
        hsm = next((h for h in active if h.hsm_id == hsm_id), None) if hsm_id else \
            (active[-1] if active else None)
        if hsm is None:
            raise ValueError(f"no active HSM {hsm_id!r} in {self.cluster_id}")
        hsm.state = "DELETED"
        self._log("DeleteHsm", hsm=hsm.hsm_id)

    def active_hsm_count(self) -> int:
        return sum(1 for h in self.hsms if h.state == "ACTIVE")

    def active_availability_zones(self) -> int:
        return len({h.availability_zone for h in self.hsms if h.state == "ACTIVE"})

    # ------------------------------------------------------------ kmsuser
    def set_kmsuser_password(self, password: str) -> None:
        """Create the kmsuser crypto user, or change its password (cloudhsm_mgmt_util)."""
        command = "ChangePassword" if self.kmsuser_password is not None else "CreateUser"
        self.kmsuser_password = password
        self.kmsuser_locked_out = False
        self._log(command, user="kmsuser")

    def login(self, password: str) -> bool:
        """Log in as kmsuser (what KMS does on connect): True on success."""
        ok = (self.kmsuser_password is not None and not self.kmsuser_locked_out
              and secrets.compare_digest(password.encode(), self.kmsuser_password.encode()))
        self._log("LoginUser", user="kmsuser", result="success" if ok else "failure")
        return ok

    # ------------------------------------------------------------ key material
    def generate_key(self, label: str) -> str:
        """Generate a non-exportable 256-bit AES key labelled ``label``; returns its handle."""
        self._require_active()
        handle = f"{len(self._keys) + 1:d}"
        while handle in self._keys:
            handle = str(int(handle) + 1)
        self._keys[handle] = SymmetricMaterial.generate()
        self._log("GenerateSymmetricKey", key_handle=handle, label=label)
        return handle

    def delete_key(self, handle: str) -> None:
        """Delete key material from the cluster (ciphertexts under it become unrecoverable)."""
        if self._keys.pop(handle, None) is not None:
            self._log("DeleteKey", key_handle=handle)

    def has_key(self, handle: str) -> bool:
        return handle in self._keys

    def key_handles(self) -> list[str]:
        """Handles of the keys the cluster holds (KMS labels them with the KMS key id)."""
        return list(self._keys)

    def encrypt(self, handle: str, key_arn: str, material_id: str, plaintext: bytes,
                context) -> bytes:
        """Encrypt inside the cluster (AES-256-GCM); logged in the cluster's audit log."""
        material = self._use(handle, "Encrypt")
        return material.seal(key_arn, material_id, plaintext, context)

    def decrypt(self, handle: str, parts, context) -> bytes:
        """Decrypt inside the cluster; logged in the cluster's audit log."""
        material = self._use(handle, "Decrypt")
        return material.open(parts, context)

    def _use(self, handle: str, command: str) -> SymmetricMaterial:
        self._require_active()
        material = self._keys.get(handle)
        if material is None:
            self._log(command, key_handle=handle, result="key not found")
            raise ClusterUnavailable(f"key handle {handle} is not in cluster {self.cluster_id}",
                                     "KEY_NOT_FOUND")
        self._log(command, key_handle=handle)
        return material

    def _require_active(self) -> None:
        if self.state != "ACTIVE" or self.active_hsm_count() == 0:
            raise ClusterUnavailable(f"cluster {self.cluster_id} has no active HSM")

    # ------------------------------------------------------------ audit
    def _log(self, command: str, **details) -> None:
        self.audit_log.append({"time": self._clock.now() if self._clock else None,
                               "cluster": self.cluster_id, "command": command, **details})

    def audit_frame(self):
        """The cluster's own audit log as a DataFrame (not CloudTrail: the HSMs' view)."""
        return log_frame(self.audit_log)


class CloudHsm:
    """The CloudHSM service of a lab: every cluster, by id."""

    def __init__(self, lab):
        self._lab = lab
        self.clusters: dict[str, CloudHsmCluster] = {}

    def create_cluster(self, *, hsm_count: int = 2, account: str | None = None,
                       region: str | None = None, kmsuser_password: str | None = "kmsPswd1",
                       state: str = "ACTIVE", source_cluster: str | None = None) -> str:
        """CreateCluster + InitializeCluster + activation: an ACTIVE cluster with ``hsm_count`` HSMs.

        ``kmsuser_password`` creates the kmsuser crypto user KMS logs in as
        (None: no kmsuser). ``source_cluster`` restores from that cluster's
        backup: same key material and cluster certificate (a *related* cluster).
        """
        lab = self._lab
        cluster_id = "cluster-" + "".join(_ID_ALPHABET[lab.ids._bits(5)] for _ in range(11))
        region = region or lab.default_region
        account = account or lab.default_account
        now = lab.clock.now()
        source = self.clusters[source_cluster] if source_cluster else None
        if source is not None:
            anchor, fingerprint = source.trust_anchor_certificate, source.certificate_fingerprint
        else:
            anchor = _trust_anchor_certificate(cluster_id, now)
            fingerprint = lab.ids.hex(20)
        cluster = CloudHsmCluster(cluster_id, region, account, now, anchor, fingerprint, state,
                                  kmsuser_password=kmsuser_password, _clock=lab.clock)
        if source is not None:
            cluster._keys = dict(source._keys)  # restored from backup: the same HSM keys
        self.clusters[cluster_id] = cluster
        cluster._log("CreateCluster", source_backup=source_cluster)
        for _ in range(hsm_count):
            cluster.add_hsm()
        return cluster_id

    def cluster(self, cluster_id: str) -> CloudHsmCluster:
        """The cluster with this id (KeyError if there is none)."""
        return self.clusters[cluster_id]

    def get(self, cluster_id: str) -> CloudHsmCluster | None:
        cluster = self.clusters.get(cluster_id)
        return cluster if cluster is not None and cluster.state != "DELETED" else None

    def delete_cluster(self, cluster_id: str) -> None:
        """CloudHSM DeleteCluster: its HSMs go; a key store using it can no longer connect."""
        cluster = self.clusters[cluster_id]
        for hsm in cluster.hsms:
            hsm.state = "DELETED"
        cluster.state = "DELETED"
        cluster._log("DeleteCluster")


def _trust_anchor_certificate(cluster_id: str, now: datetime) -> str:
    """The self-signed issuing certificate (customerCA.crt) made when a cluster is initialized."""
    return self_signed_ca_certificate(f"{cluster_id} customer CA", now)
