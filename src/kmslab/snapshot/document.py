"""What a lab *is*, as a plain-data document, and a lab built back from one.

:func:`write` turns a lab into a tree of plain values (objects, arrays,
strings, numbers, booleans, null) that says what the lab holds, in AWS's
and kmslab's public vocabulary: accounts, IAM principals, keys and their
material versions, aliases, grants, custom key stores, the clock and what
it is waiting to do, the audit trail... It never describes how the code
happens to hold them, so internals can change without breaking old
snapshots. ``docs/snapshot-format.md`` documents every field.

:func:`read` builds a new lab from such a tree with kmslab's own
constructors, checking each value (type, range, allowed values, and that
every reference points at something in the lab) before it is used: a
document that is wrong anywhere raises :class:`~kmslab.plaindata.DataError`
naming the place, and nothing half-built escapes. Nothing in a document is
ever evaluated, imported or called: kinds of scheduled actions are looked up
in :mod:`kmslab.snapshot.actions`, key material goes through the crypto
layer's documented constructors.

Key state and the other fields of a key are set in exactly one place,
:func:`_restore_key`. Caches are not what a lab is and are not saved: the
revision counters the authorizer keys its decisions by start again in a
loaded lab, whose authorizer starts empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import arns
from ..audit import AuditDataError, AuditLog
from ..clock import ScheduledEvent
from ..crypto.asymmetric import AsymmetricMaterial
from ..crypto.handle import SNAPSHOT_EXPORT_TOKEN
from ..crypto.mac import HmacMaterial
from ..crypto.symmetric import SymmetricMaterial
from ..crypto.wrapping import WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS, WrappingKey
from ..iam import AccessKey, IAMRole, IAMUser
from ..iam.model import _evaluable_trust_policy
from ..identity import Principal
from ..metrics import _COMPARISONS, Alarm
from ..plaindata import (
    DataError,
    Node,
    compact_json,
    compact_json_bytes,
    encode_bytes,
    encode_time,
    plain_copy,
)
from ..policy import Policy, default_key_policy
from ..policy.document import parse_policy
from ..service.grants import Grant
from ..service.imports import ImportParameters
from ..service.key import Alias, Key, KeyMaterialVersion
from ..service.keystores import CloudHsmKeyMaterial, CustomKeyStore, ExternalKeyMaterial
from ..service.states import STATES
from ..specs import KEY_SPECS
from ..world.cloudhsm import CloudHsmCluster, Hsm
from ..world.s3 import BucketRecord, StoredObject
from ..world.xks import ExternalKey, XksProxy
from . import actions

__all__ = ["write", "read", "marks", "write_delta", "FORMAT", "JSONText", "SECTIONS",
           "MaterialPending"]

#: the payload format this module writes
FORMAT = 3
#: the payload formats it reads: format 2 always holds a key's policy, and every field of a
#: key and of a key material version, null or not
READABLE = (2, 3)

UTC = UTC
#: times a lab holds lie in 1970-2199 (pandas and CloudTrail render them; the clock starts in 2025)
_FIRST, _LAST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
_ALIAS_NAME = re.compile(r"alias/[a-zA-Z0-9/_-]{1,250}")
_ACCOUNT = re.compile(r"\d{12}")
_HEX = re.compile(r"[0-9a-f]*")

_PRINCIPAL_TYPES = ("IAMUser", "AssumedRole", "Root", "AWSService")
_ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
_MANAGERS = ("CUSTOMER", "AWS")
_VERSION_STATES = ("CURRENT", "NON_CURRENT", "PENDING_ROTATION")
_ROTATION_TYPES = ("AUTOMATIC", "ON_DEMAND")
_IMPORT_STATES = ("IMPORTED", "PENDING_IMPORT")
_EXPIRATION_MODELS = ("KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE")
_STORE_TYPES = ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
_CONNECTION_STATES = ("CONNECTED", "CONNECTING", "DISCONNECTED", "DISCONNECTING", "FAILED")
_CLUSTER_STATES = ("UNINITIALIZED", "INITIALIZED", "ACTIVE", "DEGRADED", "DELETED")
_HSM_STATES = ("CREATE_IN_PROGRESS", "ACTIVE", "DEGRADED", "DELETE_IN_PROGRESS", "DELETED")
_ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
_SSE = ("AES256", "aws:kms")
_MULTI_REGION_TYPES = ("PRIMARY", "REPLICA")
_GRANT_CONSTRAINTS = ("EncryptionContextEquals", "EncryptionContextSubset", "SourceArn")

#: a key's fields a document (format 3) leaves out at these values, as it leaves out null ones
KEY_DEFAULTS = {"origin": "AWS_KMS", "key_manager": "CUSTOMER", "description": "",
                "multi_region": False, "rotation_enabled": False, "on_demand_rotations": 0}


# ======================================================================== writing

def _time(when: datetime | None) -> str | None:
    return None if when is None else encode_time(when)


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


class JSONText(list):
    """A part of a document already encoded: pieces of JSON (bytes) to join (see :func:`write`)."""


class MaterialPending(Exception):
    """Key material still being generated (an RSA key CreateKey made a moment ago).

    Writing it would wait for the prime search while the caller holds the lab's
    lock, holding up every other call: the writer raises this instead, and the
    caller waits (``material.wait()``) after releasing the lock, then writes again
    (:func:`kmslab.snapshot.when_material_ready`).
    """

    def __init__(self, material):
        super().__init__("key material is still being generated")
        self.material = material


def write(lab, cache: dict | None = None, *, keys_unchanged: bool = False) -> dict:
    """The lab as a plain-data document (call with the lab's lock held).

    With ``cache`` (a dict kept between calls, empty at first), the two large
    parts, ``services`` and ``audit``, come back as :class:`JSONText`, and
    audit records already written are not encoded again. Without it,
    everything is plain values. The cache keeps text (bytes), a few texts per
    Region (:class:`_KeyTexts`), not documents or an object per key: a server's
    lab holds many keys, and text gives the garbage collector nothing to look at.

    ``keys_unchanged``: the caller knows that no key written at the last call
    with this cache has changed since (only calls that never change a key were
    made, and the clock did not move): their text is reused without looking
    at them again; new keys are written.

    Raises :class:`~kmslab.snapshot.actions.ActionError` if the lab holds
    something that is not kmslab's (an action a notebook scheduled on the clock).
    """
    return _Writer(lab, cache, keys_unchanged, keys_as_json=cache is not None).document()


#: the parts of a document a journal record holds whole when they changed
SECTIONS = ("lab", "ids", "clock", "accounts", "iam", "grant_tokens", "custom_key_stores",
            "cloudhsm_clusters", "xks_proxies", "s3", "events", "metrics")


def marks(lab, document: dict | None = None, cache: dict | None = None) -> dict:
    """Where a lab stands, to write what changes from here on as a journal record (lock held).

    ``document``: the document just written (its small sections are not encoded again);
    ``cache``: :func:`write`'s.
    """
    writer = _Writer(lab, cache)
    sections = {name: document[name] for name in SECTIONS} if document is not None \
        else writer.sections()
    return {"sections": {name: compact_json(value) for name, value in sections.items()},
            "keys": {(svc.account, svc.region): _key_mark(svc.keys) for svc in lab._services.values()},
            "heads": {(svc.account, svc.region): writer.head_json(svc)
                      for svc in lab._services.values()},
            "audit": lab.audit.marks()}


def write_delta(lab, since: dict, cache: dict | None = None) -> tuple[dict, dict, int] | None:
    """A journal record: what changed since ``since`` (from :func:`marks`), the new marks, and
    how many bytes of the record are parts written again whole (their earlier copies in the
    journal are then out of date).

    For a caller that knows no key written before has changed (as ``keys_unchanged`` of
    :func:`write`): it holds the new keys, the Regions' aliases when they changed, the audit
    records appended, and every small section that changed, whole. Lock held. Its cost
    follows what changed, not the size of the lab: keys are only ever added at the end of a
    Region's keys, so only the keys after the last one known are looked at. None when the
    keys changed otherwise (one went away): a record cannot say that, the whole document can.

    ``cache``: :func:`write`'s; what the record encodes goes into it, so the next whole
    snapshot does not encode it again.
    """
    writer = _Writer(lab, cache, keys_as_json=True)
    written = cache.setdefault("keys", {}) if cache is not None else None
    sections = writer.sections()
    texts = {name: compact_json(value) for name, value in sections.items()}
    services, keys, heads = [], {}, {}
    rewritten = 0
    for svc in lab._services.values():
        where = (svc.account, svc.region)
        count, last = since["keys"].get(where, (0, None))
        added = _keys_added(svc.keys, count, last)
        if added is None:
            return None
        text = writer.keys_json(added)
        if written is not None:
            _KeyTexts.extend(written, where, count, last, added, text)
        heads[where] = head_text = writer.head_json(svc)
        if added or head_text != since["heads"].get(where):
            services.append(JSONText([head_text[:-1], b',"keys":[', text, b"]}"]))
            rewritten += len(head_text)
        keys[where] = _key_mark(svc.keys)
    audit_cache = cache.get("audit") if cache is not None else None
    changed = [name for name in sections if texts[name] != since["sections"].get(name)]
    rewritten += sum(len(texts[name]) for name in changed)
    delta = {"sections": {name: sections[name] for name in changed},
             "services": services, "audit": lab.audit.tail(since["audit"], audit_cache)}
    return delta, {"sections": texts, "keys": keys, "heads": heads,
                   "audit": lab.audit.marks()}, rewritten


#: keys written in one encoder call when a whole Region's keys are written afresh
_KEYS_PER_TEXT = 4096


class _KeyTexts:
    """A Region's keys as a saver wrote them: texts of consecutive keys (each the keys'
    documents joined with commas), in order, covering the first ``count`` keys, the last of
    them ``last``. Only new keys are added at the end (keys are only ever added at the end of a
    Region's keys), so a whole snapshot written while no key changed reuses the texts and
    writes the keys after ``last``; one text per save, not one per key, so thousands of
    keys cost one encoder call and no object each."""

    __slots__ = ("count", "last", "texts")

    def __init__(self):
        self.count = 0
        self.last = None
        self.texts: list[bytes] = []

    def add(self, keys: list, text: bytes) -> None:
        if keys:
            self.count += len(keys)
            self.last = keys[-1]
            self.texts.append(text)

    @staticmethod
    def extend(written: dict, where: tuple, count: int, last, keys: list, text: bytes) -> None:
        """The texts of ``where`` in ``written`` followed by ``keys`` (added after the ``count``
        keys ending with ``last``); dropped when they do not end there (the next whole snapshot
        then writes the Region's keys afresh)."""
        texts = written.get(where)
        if texts is None and count == 0:
            texts = written[where] = _KeyTexts()
        if texts is not None and texts.count == count and texts.last is last:
            texts.add(keys, text)
        else:
            written.pop(where, None)


def _key_mark(keys: dict) -> tuple:
    """Where a Region's keys stand: how many, and the last one (keys are added at the end)."""
    return len(keys), next(reversed(keys.values()), None)


def _keys_added(keys: dict, count: int, last) -> list | None:
    """The keys added after the ``count`` keys ending with ``last``, oldest first; None if the
    keys changed otherwise."""
    added = []
    for key in reversed(keys.values()):
        if key is last:
            break
        added.append(key)
    else:
        if last is not None:
            return None
    if len(keys) - len(added) != count:
        return None
    added.reverse()
    return added


class _Writer:
    """Writes a lab's parts as plain data. ``keys_as_json``: the caller writes each key's
    document as JSON at once (``compact_json_bytes(..., utc_times=True)``), so its times in
    UTC are left as datetimes (see :meth:`key_time`)."""

    def __init__(self, lab, cache: dict | None = None, keys_unchanged: bool = False, *,
                 keys_as_json: bool = False):
        self.lab = lab
        self.keys_as_json = keys_as_json
        self.cache = cache
        self.keys_unchanged = keys_unchanged and cache is not None and "keys" in cache
        self.times: dict[tuple, str] = {}  # a virtual clock stamps many things alike
        self.pending = sorted(e for e in lab.clock._queue if not e.cancelled)
        self.live = {id(e) for e in self.pending}
        # material already written, by handle: where (key ARN, material id). A version holding
        # the same handle (a multi-Region replica) says so rather than holding a copy
        self.written: dict[int, tuple[str, str]] = {}

    def time(self, when: datetime | None) -> str | None:
        if when is None:
            return None
        key = (when, when.utcoffset())  # equal instants in two offsets are two texts
        text = self.times.get(key)
        if text is None:
            text = self.times[key] = encode_time(when)
        return text

    def key_time(self, when: datetime | None) -> datetime | str | None:
        """A time in a key's document: with ``keys_as_json``, a time in UTC as it is (the JSON
        encoder writes it as :meth:`time` would, faster); otherwise as :meth:`time` writes it."""
        if self.keys_as_json and when is not None and when.tzinfo is UTC:
            return when
        return self.time(when)

    def log(self, entries: list[dict]) -> list[dict]:
        return [{**e, "time": self.time(e.get("time"))} for e in entries]

    def sections(self) -> dict:
        """Every part of the document but the two large ones (``services`` and ``audit``)."""
        lab = self.lab
        return {
            "lab": {"seed": lab.seed, "default_account": lab.default_account,
                    "default_region": lab.default_region, "regions": list(lab.regions),
                    "key_quota": lab.key_quota, "grant_delay_us": _us(lab.grant_delay),
                    "on_demand_rotation_delay_us": _us(lab.on_demand_rotation_delay)},
            "ids": self.ids(lab.ids),
            "clock": self.clock(lab.clock),
            "accounts": [{"id": account, "name": entry["name"],
                          "admin": _principal(entry["admin"]), "root": _principal(entry["root"])}
                         for account, entry in lab.accounts.items()],
            "iam": self.iam(lab.iam),
            "grant_tokens": self.grant_tokens(lab),
            "custom_key_stores": [self.store(s) for s in lab.custom_key_stores.stores.values()],
            "cloudhsm_clusters": [self.cluster(c) for c in lab.cloudhsm.clusters.values()],
            "xks_proxies": [self.proxy(p) for p in lab.xks.proxies.values()],
            "s3": {"buckets": [self.bucket(b) for b in lab.s3.buckets.values()],
                   "owned_keys": dict(lab.s3._owned_keys)},
            "events": [{**e, "time": self.time(e["time"]), "resources": list(e["resources"]),
                        "detail": dict(e["detail"])} for e in lab.events._events],
            "metrics": self.metrics(lab.metrics),
        }

    def document(self) -> dict:
        lab = self.lab
        document = self.sections()
        document["services"] = self.services_json() if self.cache is not None else \
            [self.service(svc) for svc in lab._services.values()]
        document["audit"] = JSONText(lab.audit.to_json_parts(self.cache.setdefault("audit", {}))) \
            if self.cache is not None else lab.audit.to_data()
        return document

    # ------------------------------------------------------------ world
    def ids(self, ids) -> dict:
        state = ids.state()
        out: dict[str, Any] = {"seeded": ids.seeded, "request_base": f"{state['request_base']:032x}",
                               "request_seq": state["request_seq"],
                               "next_key_id": state["next_key_id"]}
        if state["rng"] is not None:
            version, words, gauss = state["rng"]
            out["rng"] = {"version": version, "state": list(words), "gauss_next": gauss}
        return out

    def clock(self, clock) -> dict:
        return {"now": self.time(clock.now()), "seq": clock._seq,
                "events": [{"seq": e.seq, "when": self.time(e.when), "label": e.label,
                            "action": actions.describe_action(e.action, self.lab, e.label)}
                           for e in self.pending]}

    def scheduled_seq(self, event) -> int | None:
        return event.seq if event is not None and id(event) in self.live else None

    # ------------------------------------------------------------ IAM
    def iam(self, iam) -> dict:
        return {
            "accounts": sorted(iam.accounts),
            "users": [{"name": u.name, "account_id": u.account_id, "user_id": u.user_id,
                       "arn": u.arn, "created": self.time(u.created), "path": u.path,
                       "policies": {n: p.text for n, p in u.policies.items()}}
                      for u in iam.users.values()],
            "roles": [{"name": r.name, "account_id": r.account_id, "role_id": r.role_id,
                       "arn": r.arn, "created": self.time(r.created), "trust_policy": r.trust_document,
                       "path": r.path, "description": r.description,
                       "max_session_duration": r.max_session_duration,
                       "policies": {n: p.text for n, p in r.policies.items()}}
                      for r in iam.roles.values()],
            "access_keys": [{"access_key_id": k.access_key_id, "secret": k.secret,
                             "principal": _principal(k.principal), "created": self.time(k.created),
                             "user_name": k.user_name, "status": k.status,
                             "session_token": k.session_token, "expiration": self.time(k.expiration)}
                            for k in iam.access_keys.values()],
        }

    # ------------------------------------------------------------ KMS
    def service(self, svc, *, keys: bool = True) -> dict:
        out = {"account": svc.account, "region": svc.region,
               "aliases": [{"name": a.name, "target_key_id": a.target_key_id,
                            "created": self.time(a.created), "updated": self.time(a.updated)}
                           for a in svc.aliases.values()],
               "hidden_keys": sorted(svc.hidden_keys)}
        if keys:
            out["keys"] = [self.key(k) for k in svc.keys.values()]
        return out

    def head_json(self, svc) -> bytes:
        """``service(svc, keys=False)`` as compact JSON. With a cache, an alias's text is the
        one written last time while its target and times are the same: a Region may hold
        thousands of aliases, and a save writes them all whenever one changes."""
        texts = self.cache.setdefault("aliases", {}) if self.cache is not None else {}
        before = texts.get((svc.account, svc.region), {})
        now = {}
        pieces = []
        for a in svc.aliases.values():
            entry = before.get(a.name)
            if entry is None or entry[0] != a.target_key_id or entry[1] != a.created \
                    or entry[2] != a.updated:
                entry = (a.target_key_id, a.created, a.updated, compact_json_bytes(
                    {"name": a.name, "target_key_id": a.target_key_id,
                     "created": self.time(a.created), "updated": self.time(a.updated)}))
            now[a.name] = entry
            pieces.append(entry[3])
        texts[(svc.account, svc.region)] = now
        return b"".join((compact_json_bytes({"account": svc.account, "region": svc.region})[:-1],
                         b',"aliases":[', b",".join(pieces), b'],"hidden_keys":',
                         compact_json_bytes(sorted(svc.hidden_keys)), b"}"))

    def services_json(self) -> JSONText:
        """The services as JSON pieces; with ``keys_unchanged``, the keys written last time
        reuse their text (only the keys added since are written)."""
        cache = self.cache
        assert cache is not None  # only a document with a cache writes JSON pieces
        before = cache.get("keys", {})
        now: dict = {}
        parts = [b"["]
        for i, svc in enumerate(self.lab._services.values()):
            where = (svc.account, svc.region)
            parts.append((b"," if i else b"") + self.head_json(svc)[:-1] + b',"keys":[')
            texts = before.get(where) if self.keys_unchanged else None
            added = _keys_added(svc.keys, texts.count, texts.last) if texts else None
            if texts is None or added is None:  # every key written afresh
                texts, added = _KeyTexts(), list(svc.keys.values())
            for start in range(0, len(added), _KEYS_PER_TEXT):
                chunk = added[start:start + _KEYS_PER_TEXT]
                texts.add(chunk, self.keys_json(chunk))
            now[where] = texts
            for j, text in enumerate(texts.texts):
                if j:
                    parts.append(b",")
                parts.append(text)
            parts.append(b"]}")
        parts.append(b"]")
        cache["keys"] = now
        return JSONText(parts)

    def keys_json(self, keys: list) -> bytes:
        """The keys' documents as JSON, joined with commas (no brackets): one encoder call."""
        if not keys:
            return b""
        return compact_json_bytes([self.key(k) for k in keys], utc_times=True)[1:-1]

    def key(self, key) -> dict:
        """A key's document: the fields at their default (:data:`KEY_DEFAULTS`, or null) are
        left out, and so is the policy when it is the default key policy of the key's account.
        A server writes thousands of new keys a second, and most of a new key is its defaults."""
        time = self.key_time
        out: dict[str, Any] = {"key_id": key.key_id, "created": time(key.created),
                               "key_spec": key.spec.name, "key_usage": key.usage,
                               "state": key.state,
                               "versions": [self.version(v, key) for v in key.versions]}
        default_policy = default_key_policy(key.account)
        if key.policy is not default_policy and key.policy != default_policy:
            out["policy"] = key.policy
        # field by field: this runs for every new key a server saves
        defaults = KEY_DEFAULTS
        if key.origin != defaults["origin"]:
            out["origin"] = key.origin
        if key.manager != defaults["key_manager"]:
            out["key_manager"] = key.manager
        if key.description != defaults["description"]:
            out["description"] = key.description
        if key.multi_region != defaults["multi_region"]:
            out["multi_region"] = key.multi_region
        if key.rotation_enabled != defaults["rotation_enabled"]:
            out["rotation_enabled"] = key.rotation_enabled
        if key.on_demand_rotations != defaults["on_demand_rotations"]:
            out["on_demand_rotations"] = key.on_demand_rotations
        if key.tags:
            out["tags"] = dict(key.tags)
        if key.pending_window_days is not None:
            out["pending_window_days"] = key.pending_window_days
        if key.custom_key_store_id is not None:
            out["custom_key_store_id"] = key.custom_key_store_id
        if key.cloudhsm_cluster_id is not None:
            out["cloudhsm_cluster_id"] = key.cloudhsm_cluster_id
        if key.xks_key_id is not None:
            out["xks_key_id"] = key.xks_key_id
        if key.rotation_period_days is not None:
            out["rotation_period_days"] = key.rotation_period_days
        if key.rotation_status_before_deletion is not None:
            out["rotation_status_before_deletion"] = key.rotation_status_before_deletion
        if key.deletion_date is not None:
            out["deletion_date"] = time(key.deletion_date)
        if key.next_rotation is not None:
            out["next_rotation"] = time(key.next_rotation)
        if key.on_demand_started is not None:
            out["on_demand_started"] = time(key.on_demand_started)
        if key.multi_region_config is not None:
            out["multi_region_config"] = plain_copy(key.multi_region_config)
        if key.grants:
            out["grants"] = [self.grant(g, time) for g in key.grants.values()]
        if key.import_parameters:
            out["import_parameters"] = [
                {"token": encode_bytes(p.token), "wrapping_key_spec": p.wrapping_key.spec,
                 "wrapping_key": encode_bytes(p.wrapping_key.export_private_pkcs8(
                     SNAPSHOT_EXPORT_TOKEN)),
                 "wrapping_algorithm": p.wrapping_algorithm, "valid_to": time(p.valid_to)}
                for p in key.import_parameters]
        if key.scheduled:
            scheduled = {name: seq for name, event in key.scheduled.items()
                         if (seq := self.scheduled_seq(event)) is not None}
            if scheduled:
                out["scheduled"] = scheduled
        return out

    def version(self, v, key) -> dict:
        """A key material version's document (null fields left out)."""
        time = self.key_time
        out = {"material_id": v.material_id, "material": self.material(v, key),
               "created": time(v.created), "state": v.state}
        if v.rotation_type is not None:
            out["rotation_type"] = v.rotation_type
        if v.import_state is not None:
            out["import_state"] = v.import_state
        if v.expiration_model is not None:
            out["expiration_model"] = v.expiration_model
        if v.description is not None:
            out["description"] = v.description
        if v.valid_to is not None:
            out["valid_to"] = time(v.valid_to)
        if v.rotation_date is not None:
            out["rotation_date"] = time(v.rotation_date)
        if v.fingerprint is not None:
            out["fingerprint"] = v.fingerprint.decode("ascii")
        return out

    def material(self, version, key) -> dict | None:
        """A version's key material as data, or where it was written already (the same handle)."""
        material = version.material
        if material is None:
            return None
        where = self.written.get(id(material))
        if where is not None:
            return {"type": "shared", "key": where[0], "material_id": where[1]}
        self.written[id(material)] = (key.arn, version.material_id)
        return _material(material)

    def grant(self, g, time=None) -> dict:
        """A grant's document (``time``: how its times are written, :meth:`time` by default)."""
        time = time or self.time
        return {"grant_id": g.grant_id, "name": g.name, "key_arn": g.key_arn,
                "grantee_principal": g.grantee_principal,
                "grantee_service_principal": g.grantee_service_principal,
                "retiring_principal": g.retiring_principal,
                "retiring_service_principal": g.retiring_service_principal,
                "operations": list(g.operations), "constraints": plain_copy(g.constraints),
                "issuing_account": g.issuing_account, "created": time(g.created),
                "effective_at": time(g.effective_at)}

    def grant_tokens(self, lab) -> list:
        out = []
        for token, grant in lab.grant_tokens.items():
            entry = {"token": token, "key_arn": grant.key_arn, "grant_id": grant.grant_id}
            if _live_grant(lab, grant) is not grant:  # revoked or retired: written whole
                entry["grant"] = self.grant(grant)
            out.append(entry)
        return out

    # ------------------------------------------------------------ custom key stores
    def store(self, s) -> dict:
        return {"store_id": s.store_id, "name": s.name, "store_type": s.store_type,
                "account": s.account, "region": s.region, "created": self.time(s.created),
                "cluster_id": s.cluster_id, "trust_anchor": s.trust_anchor,
                "password": s._password, "xks_endpoint": s.xks_endpoint, "xks_path": s.xks_path,
                "xks_connectivity": s.xks_connectivity, "xks_vpc_service": s.xks_vpc_service,
                "xks_credential": plain_copy(s._xks_credential),
                "connection_state": s.connection_state, "error_code": s.error_code,
                "key_ids": sorted(s.key_ids), "saved_states": dict(s.saved_states),
                "connect_event": self.scheduled_seq(s.connect_event)}

    def cluster(self, c) -> dict:
        return {"cluster_id": c.cluster_id, "region": c.region, "account": c.account,
                "created": self.time(c.created), "trust_anchor_certificate": c.trust_anchor_certificate,
                "certificate_fingerprint": c.certificate_fingerprint, "state": c.state,
                "hsms": [{"hsm_id": h.hsm_id, "availability_zone": h.availability_zone,
                          "state": h.state} for h in c.hsms],
                "kmsuser_password": c.kmsuser_password, "kmsuser_logged_in": c.kmsuser_logged_in,
                "kmsuser_locked_out": c.kmsuser_locked_out, "subnets_present": c.subnets_present,
                "hsm_seq": c._hsm_seq, "audit_log": self.log(c.audit_log),
                "keys": {handle: encode_bytes(m.export_raw(SNAPSHOT_EXPORT_TOKEN))
                         for handle, m in c._keys.items()}}

    def proxy(self, p) -> dict:
        return {"uri_endpoint": p.uri_endpoint, "uri_path": p.uri_path,
                "access_key_id": p.access_key_id, "secret": p._secret, "reachable": p.reachable,
                "keys": [{"key_id": k.key_id, "enabled": k.enabled, "spec": k.spec,
                          "usages": list(k.usages)} for k in p.keys.values()],
                "material": {key_id: encode_bytes(m.export_raw(SNAPSHOT_EXPORT_TOKEN))
                             for key_id, m in p._material.items()},
                "audit_log": self.log(p.audit_log)}

    # ------------------------------------------------------------ S3
    def bucket(self, b) -> dict:
        return {"name": b.name, "account": b.account, "region": b.region,
                "created": self.time(b.created),
                "objects": [{"key": o.key, "ciphertext": encode_bytes(o.ciphertext),
                             "nonce": encode_bytes(o.nonce),
                             "encrypted_data_key": encode_bytes(o.encrypted_data_key),
                             "sse": o.sse, "kms_key_arn": o.kms_key_arn, "context": dict(o.context),
                             "bucket_key": o.bucket_key,
                             "salt": None if o.salt is None else encode_bytes(o.salt),
                             "size": o.size, "etag": o.etag,
                             "last_modified": self.time(o.last_modified),
                             "user_context": o.user_context}
                            for o in b.objects.values()]}

    # ------------------------------------------------------------ metrics
    def metrics(self, m) -> dict:
        gauges = list(m._gauges.values())
        index = {id(g): i for i, g in enumerate(gauges)}
        epoch = _FIRST
        return {
            "period_us": _us(m.period),
            "gauges": [{"namespace": g.namespace, "name": g.name,
                        "dimensions": [list(d) for d in g.dimensions], "unit": g.unit,
                        "value": actions.describe_gauge(g.value_at, self.lab)} for g in gauges],
            "alarms": [{"name": a.name, "namespace": a.namespace, "metric_name": a.metric_name,
                        "dimensions": [list(d) for d in a.dimensions], "threshold": a.threshold,
                        "comparison": a.comparison, "state": a.state,
                        "history": [{**h, "time": self.time(h["time"])} for h in a.history]}
                       for a in m._alarms.values()],
            "samples": {"time_us": [_us(t - epoch) for t in m._times],
                        "series": [index[id(g)] for g in m._series],
                        "values": list(m._values)},
        }


def _live_grant(lab, grant):
    """The grant of that id its key holds now (None when it was revoked or retired)."""
    ref = arns.parse_key_identifier(grant.key_arn)
    svc = lab._services.get((ref.account, ref.region))
    key = svc.keys.get(ref.key_id) if svc is not None else None
    return key.grants.get(grant.grant_id) if key is not None else None


def _principal(p: Principal) -> dict:
    return {"arn": p.arn, "account_id": p.account_id, "type": p.type, "name": p.name,
            "principal_id": p.principal_id, "access_key_id": p.access_key_id,
            "role_arn": p.role_arn, "session_name": p.session_name, "service": p.service,
            "session_issued": _time(p.session_issued),
            "mfa_authenticated_at": _time(p.mfa_authenticated_at)}


def _material(material) -> dict | None:
    """Key material as data, read out only through the crypto layer's snapshot token."""
    if material is None:
        return None
    if isinstance(material, AsymmetricMaterial) and not material.is_ready():
        raise MaterialPending(material)
    if isinstance(material, SymmetricMaterial):
        return {"type": "symmetric", "key": encode_bytes(material.export_raw(SNAPSHOT_EXPORT_TOKEN))}
    if isinstance(material, HmacMaterial):
        return {"type": "hmac", "spec": material.spec,
                "key": encode_bytes(material.export_raw(SNAPSHOT_EXPORT_TOKEN))}
    if isinstance(material, AsymmetricMaterial):
        return {"type": "asymmetric", "spec": material.spec,
                "pkcs8": encode_bytes(material.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN))}
    if isinstance(material, CloudHsmKeyMaterial):
        return {"type": "cloudhsm", "cluster_id": material.cluster_id, "handle": material.handle}
    if isinstance(material, ExternalKeyMaterial):
        return {"type": "external", "store_id": material._store.store_id,
                "xks_key_id": material.xks_key_id,
                "kms_half": encode_bytes(material._kms_half.export_raw(SNAPSHOT_EXPORT_TOKEN))}
    raise TypeError(f"key material of type {type(material).__name__} has no snapshot form")




# ======================================================================== reading

def read(document: Any):
    """A new lab built from a document :func:`write` made (DataError naming anything wrong)."""
    return _Reader(Node(document, "lab")).lab_from_document()


def _check_time(node: Node) -> datetime:
    when = node.time()
    if not _FIRST <= when < _LAST:
        raise node.fail("expected a time between 1970 and 2199")
    return when


def _opt_time(node: Node) -> datetime | None:
    return None if node.null else _check_time(node)


def _delta(node: Node) -> timedelta:
    return timedelta(microseconds=node.int(0, 10 ** 15))


def _account(node: Node) -> str:
    text = node.str()
    if not _ACCOUNT.fullmatch(text):
        raise node.fail("expected a 12-digit AWS account id")
    return text


def _region(node: Node) -> str:
    return node.choice(arns.REGIONS)


def _read_principal(node: Node) -> Principal:
    node.object({"arn", "account_id", "type", "name", "principal_id", "access_key_id", "role_arn",
                 "session_name", "service", "session_issued", "mfa_authenticated_at"},
                required=("arn", "account_id"))
    return Principal(node["arn"].str(nonempty=True), _account(node["account_id"]),
                     node["type"].choice(_PRINCIPAL_TYPES), node["name"].str(),
                     node["principal_id"].str(), node["access_key_id"].opt_str(),
                     node["role_arn"].opt_str(), node["session_name"].opt_str(),
                     node["service"].opt_str(), _opt_time(node["session_issued"]),
                     _opt_time(node["mfa_authenticated_at"]))


def _plain_object(node: Node) -> dict:
    """A JSON object (a copy), checked to hold plain values only."""
    return plain_copy(node.json_object())


class _Reader:
    def __init__(self, root: Node):
        self.root = root.object(
            {"lab", "ids", "clock", "accounts", "iam", "services", "grant_tokens",
             "custom_key_stores", "cloudhsm_clusters", "xks_proxies", "s3", "events", "metrics",
             "audit"},
            required=("lab", "ids", "clock", "accounts", "iam", "services", "audit"))
        self.keys: dict[str, Key] = {}         # key ARN -> restored key
        self.stores: dict[str, CustomKeyStore] = {}
        self.policies: dict[tuple[str, str, str], Policy] = {}  # parsed once per text
        self.scheduled: dict[int, list] = {}   # event seq -> [(key, name) | store, ...]
        self.materials: dict[tuple[str, str], tuple[Key, Any]] = {}  # (key ARN, material id)

    def lab_from_document(self):
        from ..lab import Lab
        root = self.root
        top = root["lab"].object({"seed", "default_account", "default_region", "regions",
                                  "key_quota", "grant_delay_us", "on_demand_rotation_delay_us"},
                                 required=("default_account", "default_region", "regions"))
        clock = root["clock"].object({"now", "seq", "events"}, required=("now", "seq"))
        seed = top["seed"].opt_int()
        lab = Lab(seed=seed, start=_check_time(clock["now"]),
                  account_id=_account(top["default_account"]), region=_region(top["default_region"]))
        lab.key_quota = top["key_quota"].int(0, 10 ** 9) if top.has("key_quota") else lab.key_quota
        lab.grant_delay = _delta(top["grant_delay_us"]) if top.has("grant_delay_us") else timedelta(0)
        lab.on_demand_rotation_delay = _delta(top["on_demand_rotation_delay_us"]) \
            if top.has("on_demand_rotation_delay_us") else timedelta(0)
        self.accounts(lab)
        regions = [_region(n) for n in top["regions"].list()]
        if lab.default_region not in regions or len(set(regions)) != len(regions):
            raise top["regions"].fail("expected distinct Regions, including the default Region")
        self.iam(lab)
        self.clusters(lab)
        self.proxies(lab)
        self.custom_key_stores(lab)
        self.services(lab)
        lab.regions[:] = regions + [r for r in lab.regions if r not in regions]
        self.grant_tokens(lab)
        self.s3(lab)
        self.events(lab)
        self.clock(lab, clock)
        self.metrics(lab)
        self.audit(lab)
        self.ids(lab)  # last: building the lab drew ids that the saved state replaces
        return lab

    # ------------------------------------------------------------ world
    def accounts(self, lab) -> None:
        lab.accounts.clear()
        for node in self.root["accounts"].list():
            node.object({"id", "name", "admin", "root"}, required=("id", "admin", "root"))
            account = _account(node["id"])
            if account in lab.accounts:
                raise node["id"].fail("this account is listed twice")
            lab.accounts[account] = {"name": node["name"].str() if node.has("name") else account,
                                     "admin": _read_principal(node["admin"]),
                                     "root": _read_principal(node["root"])}
        if lab.default_account not in lab.accounts:
            raise self.root["accounts"].fail("the default account is not in the lab")

    def ids(self, lab) -> None:
        node = self.root["ids"].object({"seeded", "rng", "request_base", "request_seq",
                                        "next_key_id"}, required=("seeded", "request_base"))
        seeded = node["seeded"].bool()
        if seeded != (lab.seed is not None):
            raise node["seeded"].fail("a lab with a seed has seeded ids, and only such a lab")
        base_text = node["request_base"].str()
        if not (len(base_text) == 32 and _HEX.fullmatch(base_text)):
            raise node["request_base"].fail("expected 32 hex digits")
        rng_state = None
        if seeded:
            rng = node["rng"].object({"version", "state", "gauss_next"},
                                     required=("version", "state"))
            words = rng["state"].list()
            if len(words) != 625:
                raise rng["state"].fail("expected the 625 numbers of a Mersenne Twister state")
            state = tuple(w.int(0, 2 ** 32 - 1) for w in words)
            if state[-1] > 624:
                raise rng["state"].fail("the last number is a position (0 to 624)")
            gauss = rng["gauss_next"]
            rng_state = (rng["version"].int(3, 3), state,
                         None if gauss.null else gauss.number())
        elif not node["rng"].null:
            raise node["rng"].fail("an unseeded lab draws its ids from the operating system")
        next_key_id = node["next_key_id"].opt_str()
        if next_key_id is not None and (not arns.is_key_id(next_key_id) or any(
                next_key_id in svc.keys for svc in lab._services.values())):
            raise node["next_key_id"].fail("expected the id of a key not made yet")
        lab.ids.restore(rng_state=rng_state, request_base=int(base_text, 16),
                        request_seq=node["request_seq"].int(0, 2 ** 62) if node.has("request_seq")
                        else 0, next_key_id=next_key_id)

    def clock(self, lab, node: Node) -> None:
        clock = lab.clock
        now = clock.now()
        events = []
        seen = set()
        for item in node["events"].list() if node.has("events") else ():
            item.object({"seq", "when", "label", "action"}, required=("seq", "when", "action"))
            seq = item["seq"].int(1, 2 ** 62)
            if seq in seen:
                raise item["seq"].fail("two events have this number")
            seen.add(seq)
            action = actions.rebuild_action(item["action"].object(), lab, self.keys, self.stores)
            events.append(ScheduledEvent(_check_time(item["when"]), seq, item["label"].str(),
                                         action))
        counter = node["seq"].int(0, 2 ** 62)
        if seen and max(seen) > counter:
            raise node["seq"].fail("the clock's counter is behind its events")
        by_seq = {e.seq: e for e in events}
        for seq, owners in self.scheduled.items():
            event = by_seq.get(seq)
            if event is None:
                raise node["events"].fail(f"no pending event {seq}, which a key or store names")
            for owner in owners:
                if isinstance(owner, CustomKeyStore):
                    owner.connect_event = event
                else:
                    key, name = owner
                    key.scheduled[name] = event
        clock.restore(now, counter, events)

    # ------------------------------------------------------------ IAM
    def policy(self, node: Node, kind: str, name: str = "", *, text: str | None = None) -> Policy:
        """The policy ``text`` (by default, the text at ``node``) parsed, once per text."""
        text = node.str() if text is None else text
        cache_key = (text, kind, name)
        found = self.policies.get(cache_key)
        if found is None:
            try:
                found = parse_policy(text, kind=kind, name=name)
            except Exception as exc:  # the policy layer's own errors name the problem
                raise node.fail(f"not a valid {kind} policy: {exc}") from None
            self.policies[cache_key] = found
        return found

    def iam(self, lab) -> None:
        node = self.root["iam"].object({"accounts", "users", "roles", "access_keys"})
        iam = lab.iam
        iam.accounts.clear()
        iam.users.clear()
        iam.roles.clear()
        iam.access_keys.clear()
        if node.has("accounts"):
            iam.accounts.update(_account(n) for n in node["accounts"].list())
        for item in node["users"].list() if node.has("users") else ():
            item.object({"name", "account_id", "user_id", "arn", "created", "path", "policies"},
                        required=("name", "account_id", "user_id", "arn", "created"))
            user = IAMUser(item["name"].str(nonempty=True, max_len=64),
                           _account(item["account_id"]), item["user_id"].str(nonempty=True),
                           item["arn"].str(nonempty=True), _check_time(item["created"]),
                           item["path"].str() if item.has("path") else "/")
            if user.arn in iam.users:
                raise item["arn"].fail("two users have this ARN")
            for name, text in item["policies"].items() if item.has("policies") else ():
                user.policies[name] = self.policy(text, "identity", name)
            iam.users[user.arn] = user
        for item in node["roles"].list() if node.has("roles") else ():
            item.object({"name", "account_id", "role_id", "arn", "created", "trust_policy", "path",
                         "description", "max_session_duration", "policies"},
                        required=("name", "account_id", "role_id", "arn", "created",
                                  "trust_policy"))
            trust_text = item["trust_policy"].str()
            trust = self.policy(Node(_evaluable_trust_policy(trust_text), item["trust_policy"].path),
                                "key", "trust policy")
            role = IAMRole(item["name"].str(nonempty=True, max_len=64), _account(item["account_id"]),
                           item["role_id"].str(nonempty=True), item["arn"].str(nonempty=True),
                           _check_time(item["created"]), trust, trust_text,
                           item["path"].str() if item.has("path") else "/",
                           item["description"].str() if item.has("description") else "",
                           item["max_session_duration"].int(900, 43200)
                           if item.has("max_session_duration") else 3600)
            try:
                role.shape()  # GetRole shows the trust policy as a document
            except ValueError:
                raise item["trust_policy"].fail("not a JSON document") from None
            if role.arn in iam.roles:
                raise item["arn"].fail("two roles have this ARN")
            for name, text in item["policies"].items() if item.has("policies") else ():
                role.policies[name] = self.policy(text, "identity", name)
            iam.roles[role.arn] = role
        for item in node["access_keys"].list() if node.has("access_keys") else ():
            item.object({"access_key_id", "secret", "principal", "created", "user_name", "status",
                         "session_token", "expiration"},
                        required=("access_key_id", "secret", "principal", "created"))
            key = AccessKey(item["access_key_id"].str(nonempty=True), item["secret"].str(nonempty=True),
                            _read_principal(item["principal"]), _check_time(item["created"]),
                            item["user_name"].opt_str(),
                            item["status"].choice(("Active", "Inactive"))
                            if item.has("status") else "Active",
                            item["session_token"].opt_str(), _opt_time(item["expiration"]))
            if key.access_key_id in iam.access_keys:
                raise item["access_key_id"].fail("two access keys have this id")
            iam.access_keys[key.access_key_id] = key

    # ------------------------------------------------------------ KMS
    def services(self, lab) -> None:
        lab._services.clear()
        for node in self.root["services"].list():
            node.object({"account", "region", "keys", "aliases", "hidden_keys"},
                        required=("account", "region"))
            account, region = _account(node["account"]), _region(node["region"])
            if account not in lab.accounts:
                raise node["account"].fail("this account is not in the lab")
            if (account, region) in lab._services:
                raise node.fail("this account and Region are listed twice")
            svc = lab.kms_service(account, region)
            for item in node["keys"].list() if node.has("keys") else ():
                key = self.key(item, lab, account, region)
                if key.key_id in svc.keys:
                    raise item["key_id"].fail("two keys have this id")
                svc.keys[key.key_id] = key
                self.keys[key.arn] = key
            for item in node["aliases"].list() if node.has("aliases") else ():
                item.object({"name", "target_key_id", "created", "updated"},
                            required=("name", "target_key_id", "created", "updated"))
                name = item["name"].str()
                if not _ALIAS_NAME.fullmatch(name) or name in svc.aliases:
                    raise item["name"].fail("expected a distinct alias name (alias/...)")
                target = svc.keys.get(item["target_key_id"].str())
                if target is None:
                    raise item["target_key_id"].fail("names a key that is not in this Region")
                svc.aliases[name] = Alias(name, arns.alias_arn(region, account, name), target.key_id,
                                          _check_time(item["created"]), _check_time(item["updated"]))
                target.add_alias(name)
            for item in node["hidden_keys"].list() if node.has("hidden_keys") else ():
                if item.str() not in svc.keys:
                    raise item.fail("names a key that is not in this Region")
                svc.hidden_keys.add(item.value)
        for store in self.stores.values():
            svc = lab._services.get((store.account, store.region))
            for key_id in store.key_ids:
                in_store = svc.keys.get(key_id) if svc is not None else None
                if in_store is not None and in_store.custom_key_store_id != store.store_id:
                    raise DataError(f"lab.custom_key_stores[{store.store_id}].key_ids",
                                    f"key {key_id} is not in this store")

    def key(self, node: Node, lab, account: str, region: str) -> Key:
        node.object({"key_id", "created", "key_spec", "key_usage", "origin", "key_manager",
                     "description", "state", "policy", "tags", "versions", "deletion_date",
                     "pending_window_days", "multi_region", "multi_region_config",
                     "custom_key_store_id", "cloudhsm_cluster_id", "xks_key_id", "rotation_enabled",
                     "rotation_period_days", "next_rotation", "rotation_status_before_deletion",
                     "on_demand_rotations", "on_demand_started", "grants", "import_parameters",
                     "scheduled"},
                    required=("key_id", "created", "key_spec", "key_usage", "state"))
        key_id = node["key_id"].str()
        if not arns.is_key_id(key_id):
            raise node["key_id"].fail("expected a key id")
        spec = KEY_SPECS[node["key_spec"].choice(KEY_SPECS)]
        if spec.unsupported:
            raise node["key_spec"].fail(f"kmslab does not simulate {spec.name}")
        usage = node["key_usage"].choice(spec.usages)
        arn = arns.key_arn(region, account, key_id)
        origin = node["origin"].choice(_ORIGINS) if node.has("origin") else KEY_DEFAULTS["origin"]
        store_id = node["custom_key_store_id"].opt_str()
        if (origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")) != (store_id is not None):
            raise node["custom_key_store_id"].fail(
                "keys in a custom key store (and only those) name their store")
        store = None
        if store_id is not None:
            store = self.stores.get(store_id)
            if store is None or (store.account, store.region) != (account, region) \
                    or store.store_type != origin:
                raise node["custom_key_store_id"].fail("names no custom key store of this "
                                                       "account, Region and origin")
        multi_region = node["multi_region"].bool() if node.has("multi_region") \
            else KEY_DEFAULTS["multi_region"]
        config = None
        if node.has("multi_region_config"):
            config = self.multi_region_config(node["multi_region_config"])
        # absent: the default key policy CreateKey attaches (payload format 3 leaves it out)
        policy_text = node["policy"].str() if node.has("policy") else default_key_policy(account)
        key = _restore_key(
            key_id=key_id, arn=arn, account=account, region=region,
            created=_check_time(node["created"]), spec=spec, usage=usage, origin=origin,
            manager=node["key_manager"].choice(_MANAGERS) if node.has("key_manager")
            else KEY_DEFAULTS["key_manager"],
            description=node["description"].str(max_len=8192) if node.has("description")
            else KEY_DEFAULTS["description"],
            state=node["state"].choice(STATES), policy=policy_text,
            policy_doc=self.policy(node["policy"], "key", text=policy_text),
            tags=node["tags"].str_map() if node.has("tags") else {},
            deletion_date=_opt_time(node["deletion_date"]),
            pending_window_days=node["pending_window_days"].opt_int(1, 365),
            multi_region=multi_region, multi_region_config=config,
            custom_key_store_id=store_id,
            cloudhsm_cluster_id=node["cloudhsm_cluster_id"].opt_str(),
            xks_key_id=node["xks_key_id"].opt_str(),
            rotation_enabled=node["rotation_enabled"].bool() if node.has("rotation_enabled")
            else KEY_DEFAULTS["rotation_enabled"],
            rotation_period_days=node["rotation_period_days"].opt_int(1, 10 ** 5),
            next_rotation=_opt_time(node["next_rotation"]),
            rotation_status_before_deletion=node["rotation_status_before_deletion"].opt_bool(),
            on_demand_rotations=node["on_demand_rotations"].int(0, 10 ** 6)
            if node.has("on_demand_rotations") else KEY_DEFAULTS["on_demand_rotations"],
            on_demand_started=_opt_time(node["on_demand_started"]))
        for item in node["versions"].list() if node.has("versions") else ():
            key.versions.append(self.version(item, key, lab, store))
        ids = [v.material_id for v in key.versions]
        if len(set(ids)) != len(ids):
            raise node["versions"].fail("two versions have the same material id")
        if origin != "EXTERNAL" and (key.current is None or key.current.material is None):
            raise node["versions"].fail(f"a key with origin {origin} has current key material")
        if key.rotation_enabled and (key.rotation_period_days is None or key.next_rotation is None
                                     or spec.name != "SYMMETRIC_DEFAULT" or origin != "AWS_KMS"):
            raise node["rotation_enabled"].fail(
                "automatic rotation is for symmetric keys of origin AWS_KMS, with a period and a "
                "next date")
        if key.state in ("PendingDeletion", "PendingReplicaDeletion") \
                and key.pending_window_days is None:
            raise node["pending_window_days"].fail(f"a key in state {key.state} has its window")
        for item in node["grants"].list() if node.has("grants") else ():
            grant = self.grant(item)
            if grant.key_arn != arn or grant.grant_id in key.grants:
                raise item.fail("expected a distinct grant of this key")
            key.add_grant(grant)
        for item in node["import_parameters"].list(max_len=64) if node.has("import_parameters") else ():
            key.import_parameters.append(self.import_parameters(item, arn))
        for name, seq in node["scheduled"].items() if node.has("scheduled") else ():
            self.scheduled.setdefault(seq.int(1, 2 ** 62), []).append((key, name))
        return key

    def multi_region_config(self, node: Node) -> dict:
        node.object({"MultiRegionKeyType", "PrimaryKey", "ReplicaKeys"},
                    required=("MultiRegionKeyType",))
        config: dict = {"MultiRegionKeyType": node["MultiRegionKeyType"].choice(_MULTI_REGION_TYPES)}

        def link(item: Node) -> dict:
            item.object({"Arn", "Region"}, required=("Arn", "Region"))
            return {"Arn": item["Arn"].str(nonempty=True), "Region": _region(item["Region"])}
        if node.has("PrimaryKey"):
            config["PrimaryKey"] = link(node["PrimaryKey"])
        if node.has("ReplicaKeys"):
            config["ReplicaKeys"] = [link(item) for item in node["ReplicaKeys"].list()]
        return config

    def version(self, node: Node, key: Key, lab, store) -> KeyMaterialVersion:
        node.object({"material_id", "material", "created", "rotation_type", "state", "import_state",
                     "expiration_model", "valid_to", "description", "fingerprint",
                     "rotation_date"}, required=("material_id", "created", "state"))
        material_id = node["material_id"].str()
        if not (len(material_id) == 64 and _HEX.fullmatch(material_id)):
            raise node["material_id"].fail("expected 64 hex digits")
        fingerprint = node["fingerprint"].opt_str()
        if fingerprint is not None and not (len(fingerprint) == 64 and _HEX.fullmatch(fingerprint)):
            raise node["fingerprint"].fail("expected 64 hex digits")
        material = self.material(node["material"], key, lab, store)
        if material is not None:
            self.materials[(key.arn, material_id)] = (key, material)
        return KeyMaterialVersion(
            material_id, material,
            _check_time(node["created"]), node["rotation_type"].opt_choice(_ROTATION_TYPES),
            node["state"].choice(_VERSION_STATES), node["import_state"].opt_choice(_IMPORT_STATES),
            node["expiration_model"].opt_choice(_EXPIRATION_MODELS),
            _opt_time(node["valid_to"]), node["description"].opt_str(max_len=2048),
            None if fingerprint is None else fingerprint.encode("ascii"),
            _opt_time(node["rotation_date"]))

    def material(self, node: Node, key: Key, lab, store):
        """Key material, rebuilt through the crypto layer's documented constructors."""
        if node.null:
            return None
        kind = node["type"].choice(("symmetric", "hmac", "asymmetric", "cloudhsm", "external",
                                    "shared"))
        spec = key.spec.name
        expected = _material_kind(key)
        if kind == "shared":  # the very handle of a version written before (a replica's)
            node.object({"type", "key", "material_id"}, required=("key", "material_id"))
            found = self.materials.get((node["key"].str(), node["material_id"].str()))
            if found is None or _material_kind(found[0]) != expected or found[0].spec is not key.spec:
                raise node.fail("names no earlier key material of the same kind")
            return found[1]
        if kind != expected:
            raise node["type"].fail(f"a {spec} key with origin {key.origin} holds {expected} material")
        try:
            if kind == "symmetric":
                node.object({"type", "key"}, required=("key",))
                return SymmetricMaterial.from_bytes(node["key"].bytes(length=32))
            if kind in ("hmac", "asymmetric"):
                node.object({"type", "spec", "key" if kind == "hmac" else "pkcs8"})
                if node["spec"].str() != spec:
                    raise node["spec"].fail(f"expected the key's spec {spec}")
                if kind == "hmac":
                    return HmacMaterial.from_bytes(spec, node["key"].bytes(max_len=64))
                return AsymmetricMaterial.from_pkcs8(spec, node["pkcs8"].bytes(max_len=16384))
            if kind == "cloudhsm":
                node.object({"type", "cluster_id", "handle"}, required=("cluster_id", "handle"))
                return CloudHsmKeyMaterial(lab.env, node["cluster_id"].str(), node["handle"].str())
            node.object({"type", "store_id", "xks_key_id", "kms_half"},
                        required=("store_id", "xks_key_id", "kms_half"))
            if node["store_id"].str() != key.custom_key_store_id:
                raise node["store_id"].fail("expected the key's custom key store")
            half = SymmetricMaterial.from_bytes(node["kms_half"].bytes(length=32))
            return ExternalKeyMaterial(lab.env, store, node["xks_key_id"].str(), kms_half=half)
        except DataError:
            raise
        except Exception as exc:  # the crypto layer refused the material
            raise node.fail(f"key material that kmslab cannot use: {exc}") from None

    def grant(self, node: Node) -> Grant:
        node.object({"grant_id", "name", "key_arn", "grantee_principal", "grantee_service_principal",
                     "retiring_principal", "retiring_service_principal", "operations",
                     "constraints", "issuing_account", "created", "effective_at"},
                    required=("grant_id", "key_arn", "operations", "issuing_account", "created",
                              "effective_at"))
        grant_id = node["grant_id"].str()
        if not (len(grant_id) == 64 and _HEX.fullmatch(grant_id)):
            raise node["grant_id"].fail("expected 64 hex digits")
        constraints: dict[str, Any] | None = None
        if node.has("constraints"):
            c = node["constraints"].object(_GRANT_CONSTRAINTS)
            constraints = {}
            for name in ("EncryptionContextEquals", "EncryptionContextSubset"):
                if c.has(name):
                    constraints[name] = c[name].str_map()
            if c.has("SourceArn"):
                constraints["SourceArn"] = c["SourceArn"].str()
        return Grant(grant_id, node["name"].opt_str(), node["key_arn"].str(),
                     node["grantee_principal"].opt_str(), node["retiring_principal"].opt_str(),
                     tuple(node["operations"].str_list()), constraints,
                     _account(node["issuing_account"]), _check_time(node["created"]),
                     _check_time(node["effective_at"]),
                     node["grantee_service_principal"].opt_str(),
                     node["retiring_service_principal"].opt_str())

    def import_parameters(self, node: Node, key_arn: str) -> ImportParameters:
        node.object({"token", "wrapping_key_spec", "wrapping_key", "wrapping_algorithm",
                     "valid_to"}, required=("token", "wrapping_key_spec", "wrapping_key",
                                            "wrapping_algorithm", "valid_to"))
        spec = node["wrapping_key_spec"].choice(WRAPPING_KEY_SPECS)
        try:
            wrapping_key = WrappingKey.from_pkcs8(spec, node["wrapping_key"].bytes(max_len=16384))
        except DataError:
            raise
        except Exception as exc:
            raise node["wrapping_key"].fail(f"not an {spec} private key: {exc}") from None
        return ImportParameters(node["token"].bytes(max_len=4096), key_arn, wrapping_key,
                                node["wrapping_algorithm"].choice(WRAPPING_ALGORITHMS),
                                _check_time(node["valid_to"]))

    def grant_tokens(self, lab) -> None:
        lab.grant_tokens.clear()
        for item in self.root["grant_tokens"].list() if self.root.has("grant_tokens") else ():
            item.object({"token", "key_arn", "grant_id", "grant"},
                        required=("token", "key_arn", "grant_id"))
            token = item["token"].str(nonempty=True, max_len=8192)
            if item.has("grant"):  # a grant no longer on its key (revoked or retired)
                grant: Grant | None = self.grant(item["grant"])
            else:
                holder = self.keys.get(item["key_arn"].str())
                grant = (holder.grants.get(item["grant_id"].str()) if holder is not None
                         else None)
                if grant is None:
                    raise item.fail("names a grant that is not in the lab")
            lab.grant_tokens[token] = grant

    # ------------------------------------------------------------ custom key stores
    def custom_key_stores(self, lab) -> None:
        stores = lab.custom_key_stores.stores
        stores.clear()
        for node in self.root["custom_key_stores"].list() \
                if self.root.has("custom_key_stores") else ():
            node.object({"store_id", "name", "store_type", "account", "region", "created",
                         "cluster_id", "trust_anchor", "password", "xks_endpoint", "xks_path",
                         "xks_connectivity", "xks_vpc_service", "xks_credential",
                         "connection_state", "error_code", "key_ids", "saved_states",
                         "connect_event"},
                        required=("store_id", "name", "store_type", "account", "region", "created"))
            store_type = node["store_type"].choice(_STORE_TYPES)
            credential = None
            if store_type == "EXTERNAL_KEY_STORE":
                c = node["xks_credential"].object({"AccessKeyId", "RawSecretAccessKey"},
                                                  required=("AccessKeyId", "RawSecretAccessKey"))
                credential = {"AccessKeyId": c["AccessKeyId"].str(),
                              "RawSecretAccessKey": c["RawSecretAccessKey"].str()}
            elif not node["xks_credential"].null:
                raise node["xks_credential"].fail("only external key stores have a proxy credential")
            store = CustomKeyStore(
                node["store_id"].str(nonempty=True), node["name"].str(nonempty=True),
                store_type, _account(node["account"]), _region(node["region"]),
                _check_time(node["created"]), node["cluster_id"].opt_str(),
                node["trust_anchor"].opt_str(), node["password"].opt_str(),
                node["xks_endpoint"].opt_str(), node["xks_path"].opt_str(),
                node["xks_connectivity"].opt_str(), node["xks_vpc_service"].opt_str(), credential,
                node["connection_state"].choice(_CONNECTION_STATES)
                if node.has("connection_state") else "DISCONNECTED",
                node["error_code"].opt_str(),
                set(node["key_ids"].str_list()) if node.has("key_ids") else set(),
                {k: v.choice(STATES) for k, v in node["saved_states"].items()}
                if node.has("saved_states") else {})
            if store_type == "AWS_CLOUDHSM" and store.cluster_id is None:
                raise node["cluster_id"].fail("a CloudHSM key store names its cluster")
            if store_type == "EXTERNAL_KEY_STORE" and (store.xks_endpoint is None
                                                       or store.xks_path is None):
                raise node["xks_endpoint"].fail("an external key store names its proxy")
            if store.store_id in stores:
                raise node["store_id"].fail("two custom key stores have this id")
            if node.has("connect_event"):
                self.scheduled.setdefault(node["connect_event"].int(1, 2 ** 62), []).append(store)
            stores[store.store_id] = store
            self.stores[store.store_id] = store

    def clusters(self, lab) -> None:
        clusters = lab.cloudhsm.clusters
        clusters.clear()
        for node in self.root["cloudhsm_clusters"].list() \
                if self.root.has("cloudhsm_clusters") else ():
            node.object({"cluster_id", "region", "account", "created", "trust_anchor_certificate",
                         "certificate_fingerprint", "state", "hsms", "kmsuser_password",
                         "kmsuser_logged_in", "kmsuser_locked_out", "subnets_present", "hsm_seq",
                         "audit_log", "keys"},
                        required=("cluster_id", "region", "account", "created",
                                  "trust_anchor_certificate", "certificate_fingerprint"))
            cluster_id = node["cluster_id"].str()
            if not (cluster_id.startswith("cluster-") and len(cluster_id) == 19):
                raise node["cluster_id"].fail("expected a cluster id (cluster-...)")
            keys = {}
            for handle, raw in node["keys"].items() if node.has("keys") else ():
                keys[handle] = SymmetricMaterial.from_bytes(raw.bytes(length=32))
            cluster = CloudHsmCluster(
                cluster_id, _region(node["region"]), _account(node["account"]),
                _check_time(node["created"]), node["trust_anchor_certificate"].str(),
                node["certificate_fingerprint"].str(),
                node["state"].choice(_CLUSTER_STATES) if node.has("state") else "ACTIVE",
                [self.hsm(h) for h in node["hsms"].list()] if node.has("hsms") else [],
                node["kmsuser_password"].opt_str(),
                node["kmsuser_logged_in"].bool() if node.has("kmsuser_logged_in") else False,
                node["kmsuser_locked_out"].bool() if node.has("kmsuser_locked_out") else False,
                node["subnets_present"].bool() if node.has("subnets_present") else True,
                self.log(node["audit_log"]) if node.has("audit_log") else [],
                keys, lab.clock, node["hsm_seq"].int(0, 10 ** 6) if node.has("hsm_seq") else 0)
            if cluster_id in clusters:
                raise node["cluster_id"].fail("two clusters have this id")
            clusters[cluster_id] = cluster

    @staticmethod
    def hsm(node: Node) -> Hsm:
        node.object({"hsm_id", "availability_zone", "state"},
                    required=("hsm_id", "availability_zone"))
        return Hsm(node["hsm_id"].str(), node["availability_zone"].str(),
                   node["state"].choice(_HSM_STATES) if node.has("state") else "ACTIVE")

    @staticmethod
    def log(node: Node) -> list[dict]:
        entries = []
        for item in node.list():
            entry = {}
            for name, value in item.items():
                if name == "time":
                    entry[name] = _opt_time(value)
                elif not (value.null or isinstance(value.value, (str, bool, int))):
                    raise value.fail("expected a string, a number, a boolean or null")
                else:
                    entry[name] = value.value
            entries.append(entry)
        return entries

    def proxies(self, lab) -> None:
        proxies = lab.xks.proxies
        proxies.clear()
        for node in self.root["xks_proxies"].list() if self.root.has("xks_proxies") else ():
            node.object({"uri_endpoint", "uri_path", "access_key_id", "secret", "reachable", "keys",
                         "material", "audit_log"},
                        required=("uri_endpoint", "uri_path", "access_key_id", "secret"))
            proxy = XksProxy(node["uri_endpoint"].str(nonempty=True), node["uri_path"].str(),
                             node["access_key_id"].str(), node["secret"].str(),
                             node["reachable"].bool() if node.has("reachable") else True,
                             _clock=lab.clock)
            for item in node["keys"].list() if node.has("keys") else ():
                item.object({"key_id", "enabled", "spec", "usages"}, required=("key_id",))
                key = ExternalKey(item["key_id"].str(nonempty=True),
                                  item["enabled"].bool() if item.has("enabled") else True,
                                  item["spec"].str() if item.has("spec") else "AES_256",
                                  tuple(item["usages"].str_list()) if item.has("usages")
                                  else ("ENCRYPT", "DECRYPT"))
                proxy.keys[key.key_id] = key
            for key_id, raw in node["material"].items() if node.has("material") else ():
                proxy._material[key_id] = SymmetricMaterial.from_bytes(raw.bytes(length=32))
            if set(proxy.keys) - set(proxy._material):
                raise node["material"].fail("every external key has material")
            if node.has("audit_log"):
                proxy.audit_log.extend(self.log(node["audit_log"]))
            where = proxy.uri_endpoint + proxy.uri_path
            if where in proxies:
                raise node["uri_endpoint"].fail("two proxies have this endpoint and path")
            proxies[where] = proxy

    # ------------------------------------------------------------ S3
    def s3(self, lab) -> None:
        if not self.root.has("s3"):
            return
        node = self.root["s3"].object({"buckets", "owned_keys"})
        world = lab.s3
        world.buckets.clear()
        for item in node["buckets"].list() if node.has("buckets") else ():
            item.object({"name", "account", "region", "created", "objects"},
                        required=("name", "account", "region", "created"))
            bucket = BucketRecord(item["name"].str(nonempty=True), _account(item["account"]),
                                  _region(item["region"]), _check_time(item["created"]))
            if bucket.account not in lab.accounts:
                raise item["account"].fail("this account is not in the lab")
            for obj in item["objects"].list() if item.has("objects") else ():
                stored = self.stored_object(obj)
                bucket.objects[stored.key] = stored
            if bucket.name in world.buckets:
                raise item["name"].fail("two buckets have this name")
            world.buckets[bucket.name] = bucket
        world._owned_keys.clear()
        for region, key_id in node["owned_keys"].items() if node.has("owned_keys") else ():
            if region not in arns.REGIONS:
                raise key_id.fail("not an AWS Region")
            world._owned_keys[region] = key_id.str()

    @staticmethod
    def stored_object(node: Node) -> StoredObject:
        node.object({"key", "ciphertext", "nonce", "encrypted_data_key", "sse", "kms_key_arn",
                     "context", "bucket_key", "salt", "size", "etag", "last_modified",
                     "user_context"},
                    required=("key", "ciphertext", "nonce", "encrypted_data_key", "sse", "context"))
        bucket_key = node["bucket_key"].bool() if node.has("bucket_key") else False
        salt = node["salt"].opt_bytes(length=32)
        if bucket_key and salt is None:
            raise node["salt"].fail("an object under a bucket key has its salt")
        return StoredObject(node["key"].str(nonempty=True), node["ciphertext"].bytes(),
                            node["nonce"].bytes(length=12), node["encrypted_data_key"].bytes(),
                            node["sse"].choice(_SSE), node["kms_key_arn"].opt_str(),
                            node["context"].str_map(), bucket_key, salt,
                            node["size"].int(0, 2 ** 62) if node.has("size") else 0,
                            node["etag"].str() if node.has("etag") else "",
                            _opt_time(node["last_modified"]), node["user_context"].opt_str())

    # ------------------------------------------------------------ events, metrics, audit
    def events(self, lab) -> None:
        bus = lab.events
        bus._events.clear()
        fields = ("version", "id", "detail-type", "source", "account", "time", "region",
                  "resources", "detail")
        for node in self.root["events"].list() if self.root.has("events") else ():
            node.object(fields, required=fields)
            bus._events.append({
                "version": node["version"].str(), "id": node["id"].str(),
                "detail-type": node["detail-type"].str(), "source": node["source"].str(),
                "account": _account(node["account"]), "time": _check_time(node["time"]),
                "region": _region(node["region"]), "resources": node["resources"].str_list(),
                "detail": _plain_object(node["detail"])})

    def metrics(self, lab) -> None:
        if not self.root.has("metrics"):
            return
        node = self.root["metrics"].object({"period_us", "gauges", "alarms", "samples"})
        store = lab.metrics
        if node.has("period_us"):
            store.period = timedelta(microseconds=node["period_us"].int(1_000_000, 10 ** 14))
        gauges = []
        for item in node["gauges"].list() if node.has("gauges") else ():
            item.object({"namespace", "name", "dimensions", "unit", "value"},
                        required=("namespace", "name", "dimensions", "unit", "value"))
            value_at = actions.rebuild_gauge(item["value"].object(), self.keys)
            gauge = store.gauge(item["namespace"].str(), item["name"].str(),
                                _dimensions(item["dimensions"]), item["unit"].str(), value_at)
            gauges.append(gauge)
        for item in node["alarms"].list() if node.has("alarms") else ():
            item.object({"name", "namespace", "metric_name", "dimensions", "threshold",
                         "comparison", "state", "history"},
                        required=("name", "namespace", "metric_name", "dimensions", "threshold",
                                  "comparison"))
            alarm = Alarm(item["name"].str(), item["namespace"].str(), item["metric_name"].str(),
                          tuple(sorted(_dimensions(item["dimensions"]).items())),
                          item["threshold"].number(), item["comparison"].choice(_COMPARISONS),
                          None, item["state"].choice(_ALARM_STATES) if item.has("state")
                          else "INSUFFICIENT_DATA")
            for entry in item["history"].list() if item.has("history") else ():
                entry.object({"time", "from", "to", "value"}, required=("time", "from", "to",
                                                                        "value"))
                alarm.history.append({"time": _check_time(entry["time"]),
                                      "from": entry["from"].choice(_ALARM_STATES),
                                      "to": entry["to"].choice(_ALARM_STATES),
                                      "value": entry["value"].number()})
            store._alarms[alarm.name] = alarm
        if node.has("samples"):
            samples = node["samples"].object({"time_us", "series", "values"},
                                             required=("time_us", "series", "values"))
            limit = (_LAST - _FIRST) // timedelta(microseconds=1)
            times = [_FIRST + timedelta(microseconds=n.int(0, limit - 1))
                     for n in samples["time_us"].list()]
            series = [gauges[n.int(0, len(gauges) - 1)] if gauges else None
                      for n in samples["series"].list()]
            values = [n.number() for n in samples["values"].list()]
            if not (len(times) == len(series) == len(values)) or None in series:
                raise samples.fail("expected one time, series and value per sample")
            store._times[:], store._series[:], store._values[:] = times, series, values

    def audit(self, lab) -> None:
        try:
            log = AuditLog.from_data(self.root["audit"].value, lab.ids, lab.clock)
        except AuditDataError as exc:
            raise DataError("lab." + exc.where, exc.message) from None
        log.key_resolver = lab.key_arn
        lab.audit = log


def _material_kind(key: Key) -> str:
    """The kind of material a key holds, from its origin and spec."""
    spec = key.spec.name
    return {"AWS_CLOUDHSM": "cloudhsm", "EXTERNAL_KEY_STORE": "external"}.get(key.origin) \
        or ("symmetric" if spec == "SYMMETRIC_DEFAULT" else
            "hmac" if spec.startswith("HMAC_") else "asymmetric")


def _dimensions(node: Node) -> dict[str, str]:
    out = {}
    for item in node.list():
        name, value = item.tuple(2)
        out[name.str()] = value.str()
    return out


def _restore_key(**fields) -> Key:
    """The one place a snapshot sets a key's fields, its state among them."""
    return Key(**fields)
