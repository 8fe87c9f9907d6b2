"""Whatever a sealed snapshot holds, loading it gives a SnapshotError or a lab that works.

Anyone who knows a class's passphrase can seal a file, so the loader is fed
what such a person could write: random JSON-like trees, and real lab
documents with one value anywhere replaced, removed or retyped. Each load
must end in a SnapshotError, or in a lab on which every read, the passing of
time and new calls raise nothing but AWS errors.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kmslab
from kmslab import byok, errors, snapshot
from kmslab.crypto.sealing import SealingKey
from kmslab.frames import FRAMES

PASS = "property passphrase"
KEY = SealingKey.derive(PASS, log_n=10)  # cheap on purpose: the loader's work is what is tested
OTHER = "444455556666"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(["", "Enabled", "SYMMETRIC_DEFAULT", "us-east-1",
                                               "2025-01-01T09:00:00+00:00", "AAAA", "0" * 64,
                                               "111122223333", "symmetric", "DeleteKey"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children,
                                                                      max_size=4),
    max_leaves=12)


def build_lab() -> kmslab.Lab:
    """A lab with a bit of everything that loads fast (no RSA key pairs to re-validate)."""
    lab = kmslab.Lab(seed=31)
    kms, iam = lab.client(), lab.client("iam")
    lab.add_account(OTHER, name="partner")
    lab.add_user("alice", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    iam.create_access_key(UserName="alice")
    role = lab.add_role("auditor", trusted=["alice"])
    lab.client("sts", as_="alice").assume_role(RoleArn=role.arn, RoleSessionName="s1")
    app = kms.create_key(Description="app", Tags=[{"TagKey": "t", "TagValue": "v"}])["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=app)
    kms.enable_key_rotation(KeyId=app)
    kms.encrypt(KeyId=app, Plaintext=b"x", EncryptionContext={"a": "b"})
    kms.rotate_key_on_demand(KeyId=app)
    kms.create_grant(KeyId=app, GranteePrincipal=lab.principal("alice").arn, Operations=["Decrypt"],
                     Constraints={"EncryptionContextSubset": {"a": "b"}})
    for spec, usage in (("HMAC_256", "GENERATE_VERIFY_MAC"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")):
        kms.create_key(KeySpec=spec, KeyUsage=usage)
    ext = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    byok.import_key_material(kms, ext, os.urandom(32), valid_to=lab.clock.now() + timedelta(days=9))
    lab.metrics.put_metric_alarm("soon", "SecondsUntilKeyMaterialExpiration", {"KeyId": ext},
                                 threshold=86400)
    cluster = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster())
    store = kms.create_custom_key_store(
        CustomKeyStoreName="hsm", CloudHsmClusterId=cluster.cluster_id,
        TrustAnchorCertificate=cluster.trust_anchor_certificate, KeyStorePassword="kmsPswd1")
    kms.connect_custom_key_store(CustomKeyStoreId=store["CustomKeyStoreId"])
    lab.clock.advance(minutes=6)
    kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store["CustomKeyStoreId"])
    mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=mrk, ReplicaRegion="eu-west-1")
    lab.service("s3").create_bucket(Bucket="b")
    lab.service("s3").put_object(Bucket="b", Key="k", Body=b"data", ServerSideEncryption="aws:kms")
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    lab.client(account=OTHER).create_key()
    lab.clock.advance(hours=1)
    # one of every kind of action kmslab schedules, in flight
    lab.grant_delay = timedelta(minutes=2)
    kms.create_grant(KeyId=app, GranteePrincipal=lab.principal("alice").arn, Operations=["Encrypt"])
    lab.on_demand_rotation_delay = timedelta(hours=1)
    kms.rotate_key_on_demand(KeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    kms.disconnect_custom_key_store(CustomKeyStoreId=store["CustomKeyStoreId"])
    kms.connect_custom_key_store(CustomKeyStoreId=store["CustomKeyStoreId"])
    kms.replicate_key(KeyId=mrk, ReplicaRegion="us-west-2")
    kms.update_primary_region(KeyId=mrk, PrimaryRegion="eu-west-1")
    return lab


BASE = snapshot.to_document(build_lab())
for _service in BASE["services"]:  # outstanding import tokens hold RSA keys, slow to re-validate;
    for _key in _service["keys"]:  # the round-trip and attack tests load those
        _key["import_parameters"] = []


def _paths(value, path=()):
    """Every place in a document: (path, value)."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):  # the first elements of long arrays stand for the rest
            yield from _paths(v, path + (i,))


PATHS = [p for p, _ in _paths(BASE) if p]


def _seal(tree) -> bytes:
    header = json.dumps({"kmslab": kmslab.__version__, "format": snapshot.PAYLOAD_FORMAT})
    return KEY.seal(header.encode() + b"\n" + json.dumps(tree).encode())


def _works(lab) -> None:
    """Everything a learner does with a lab raises nothing but AWS errors."""
    def call(fn, *args, **params):
        try:
            return fn(*args, **params)
        except errors.KMSError:
            return None

    repr(lab)
    for account in list(lab.accounts):
        for region in list(lab.regions):
            kms = lab.client(account=account, region_name=region)
            keys = call(kms.list_keys) or {"Keys": []}
            call(kms.list_aliases)
            call(kms.describe_custom_key_stores)
            for entry in keys["Keys"]:
                key = entry["KeyId"]
                for read in (kms.describe_key, kms.get_key_policy, kms.get_key_rotation_status,
                             kms.list_resource_tags, kms.list_grants, kms.get_public_key,
                             kms.get_key_last_usage):
                    call(read, KeyId=key)
                call(kms.list_key_rotations, KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")
                call(kms.encrypt, KeyId=key, Plaintext=b"p")
                call(kms.generate_mac, KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256")
                call(kms.sign, KeyId=key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
            call(kms.create_key)
        iam = lab.client("iam", account=account)
        for user in (call(iam.list_users) or {"Users": []})["Users"]:
            call(iam.list_access_keys, UserName=user["UserName"])
            names = call(iam.list_user_policies, UserName=user["UserName"]) or {"PolicyNames": []}
            for name in names["PolicyNames"]:
                call(iam.get_user_policy, UserName=user["UserName"], PolicyName=name)
    for key_id in list(lab.iam.access_keys):
        try:
            lab.authenticate(key_id, lab.iam.access_keys[key_id].session_token)
        except errors.KMSError:
            pass
    for bucket in lab.s3.buckets.values():
        for name in bucket.objects:
            s3 = lab.service("s3", account=bucket.account)
            try:
                s3.head_object(Bucket=bucket.name, Key=name)
            except Exception as exc:  # S3's own errors are botocore ClientErrors
                assert type(exc).__name__ == "ClientError", exc
    for what in [*FRAMES, "audit"]:
        call(lab.frame, what)  # frames read through the API, as the account's admin
    lab.audit.records()
    lab.audit.filter(success=False).frame()
    lab.events.frame()
    lab.metrics.frame()
    lab.metrics.describe_alarms()
    [(e.when, e.label) for e in lab.clock.pending()]
    lab.clock.advance(days=400)  # every scheduled action fires
    call(lab.client().list_keys)
    lab.audit.frame()


def _load(data: bytes):
    try:
        lab = kmslab.Lab.from_bytes(data, PASS)
    except snapshot.SnapshotError as exc:
        assert str(exc)
        return None
    _works(lab)
    return lab


def test_the_base_document_loads_and_works():
    from kmslab.snapshot.actions import ACTIONS
    assert {e["action"]["kind"] for e in BASE["clock"]["events"]} == set(ACTIONS)
    assert _load(_seal(BASE)) is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
@example({"lab": {}, "ids": {}, "clock": {}, "accounts": [], "iam": {}, "services": [], "audit": {}})
def test_random_trees_give_a_snapshot_error_or_a_lab_that_works(tree):
    _load(_seal(tree))


def _set(document, path, value):
    target = document
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        if isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            del target[path[-1]]
    else:
        target[path[-1]] = value


_DELETE = object()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), st.one_of(json_values, st.just(_DELETE)))
@example(("audit", "rows"), 10 ** 9)
@example(("audit", "shape"), "AAAAAP////8=")
@example(("clock", "events", 0, "action", "kind"), "os.system")
@example(("services", 0, "keys", 0, "versions", 0, "material", "type"), "pickle")
@example(("services", 0, "keys", 0, "key_spec"), "HMAC_256")
@example(("services", 0, "keys", 0, "state"), "Deleted")
@example(("lab", "regions"), ["mars-north-1"])
@example(("ids", "rng", "state", 624), 10 ** 6)
@example(("audit", "time_values"), "AAAAAAAAAIA=")
@example(("audit", "params", 0), None)
def test_a_document_changed_anywhere_gives_a_snapshot_error_or_a_lab_that_works(path, value):
    document = copy.deepcopy(BASE)
    try:
        _set(document, path, value)
    except (KeyError, IndexError, TypeError):
        return
    _load(_seal(document))
