"""The audit trail: one CloudTrail record per request, never a secret, exact JSON round trips."""

from __future__ import annotations

import base64
import json

import botocore.session
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kmslab
from kmslab import byok, errors
from kmslab.audit import AuditLog
from kmslab.service.registry import OPERATIONS

SECRET = b"correct horse battery staple"
CONTEXT = {"Department": "Engineering", "Project": "Alpha"}
LAB_SEED = 11


def _last(lab):
    return lab.audit.records()[-1]


def test_every_registered_operation_leaves_exactly_one_record(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for name in sorted(OPERATIONS):
        before = len(lab.audit)
        method = getattr(kms, __import__("botocore").xform_name(name))
        try:
            method(KeyId=key) if "KeyId" in _members(name) else method()
        except errors.KMSError:
            pass
        records = lab.audit.records()[before:]
        api_calls = [r for r in records if r["eventType"] == "AwsApiCall"]
        assert len(api_calls) == 1, name
        # an on-demand rotation also leaves KMS's own RotateKey service event, as in AWS
        assert [r["eventName"] for r in records if r["eventType"] == "AwsServiceEvent"] == (
            ["RotateKey"] if name == "RotateKeyOnDemand" and "errorCode" not in api_calls[0] else [])
        rec = api_calls[0]
        assert rec["eventName"] == name
        assert rec["eventSource"] == "kms.amazonaws.com"
        assert rec["userIdentity"]["arn"] == lab.admin().arn


def _members(name):
    shape = botocore.session.get_session().get_service_model("kms").operation_model(name).input_shape
    return shape.members if shape is not None else {}


def test_success_record_matches_cloudtrail_examples(lab, kms):
    md = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=SECRET, EncryptionContext=CONTEXT)["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    rec = _last(lab)
    assert rec["eventName"] == "Decrypt" and rec["readOnly"] is True
    # Decrypt logs encryptionAlgorithm always and keyId as the key ARN (ct-decrypt)
    assert rec["requestParameters"] == {"encryptionContext": CONTEXT,
                                        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                        "keyId": md["Arn"]}
    assert rec["responseElements"] is None
    assert rec["additionalEventData"] == {"keyMaterialId": md["CurrentKeyMaterialId"]}
    assert rec["resources"] == [{"accountId": "111122223333", "type": "AWS::KMS::Key",
                                 "ARN": md["Arn"]}]
    assert rec["eventType"] == "AwsApiCall" and rec["eventCategory"] == "Management"
    assert rec["managementEvent"] is True and rec["recipientAccountId"] == "111122223333"
    assert rec["userIdentity"] == {"type": "IAMUser", "principalId": lab.admin().principal_id,
                                   "arn": lab.admin().arn, "accountId": "111122223333",
                                   "accessKeyId": lab.admin().implicit_access_key_id(),
                                   "userName": "admin"}
    assert "errorCode" not in rec


def test_create_key_logs_key_metadata_and_generate_data_key_its_spec(lab, kms):
    md = kms.create_key(Description="orders")["KeyMetadata"]
    rec = _last(lab)
    assert rec["readOnly"] is False
    assert rec["responseElements"]["keyMetadata"]["keyId"] == md["KeyId"]
    assert rec["responseElements"]["keyMetadata"]["aWSAccountId"] == "111122223333"
    kms.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256")
    assert _last(lab)["requestParameters"] == {"keyId": md["KeyId"], "keySpec": "AES_256"}
    kms.generate_data_key(KeyId=md["KeyId"], NumberOfBytes=24)
    assert _last(lab)["requestParameters"]["numberOfBytes"] == 24


def test_import_key_material_logs_the_key_arn_and_material_as_response_elements(lab, kms):
    """ct-importkeymaterial: responseElements {keyId: <key ARN>, keyMaterialId}, no
    additionalEventData (not a cryptographic operation)."""
    md = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    byok.import_key_material(kms, md["KeyId"], bytes(range(32)))
    rec = lab.audit.filter(event_name="ImportKeyMaterial").records()[-1]
    material = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert rec["responseElements"] == {"keyId": md["Arn"], "keyMaterialId": material}
    assert "additionalEventData" not in rec
    assert rec["requestParameters"]["keyId"] == md["KeyId"]
    assert rec["requestParameters"]["expirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"


def test_failures_carry_aws_error_code_and_the_key(lab, kms):
    a = kms.create_key()["KeyMetadata"]
    b = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=SECRET)["CiphertextBlob"]
    with pytest.raises(errors.IncorrectKeyException):
        kms.decrypt(CiphertextBlob=blob, KeyId=b["KeyId"])
    rec = _last(lab)
    assert rec["errorCode"] == "IncorrectKeyException" and rec["errorMessage"]
    assert rec["resources"][0]["ARN"] == b["Arn"]
    kms.disable_key(KeyId=a["KeyId"])
    with pytest.raises(errors.DisabledException):
        kms.encrypt(KeyId=a["KeyId"], Plaintext=SECRET)
    rec = _last(lab)
    assert (rec["errorCode"], rec["errorMessage"]) == ("DisabledException", f"{a['Arn']} is disabled.")
    assert "additionalEventData" not in rec
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId="alias/missing")
    assert _last(lab)["errorCode"] == "NotFoundException" and "resources" not in _last(lab)


def test_access_denied_is_logged_as_cloudtrail_writes_it(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]

    class Deny:
        def authorize(self, call, key, action, conditions):
            raise errors.AccessDeniedException(f"User is not authorized to perform: {action}")

        def check_key_policy(self, *args):
            return None
    lab.authorizer = Deny()
    with pytest.raises(errors.AccessDeniedException):
        kms.encrypt(KeyId=key, Plaintext=SECRET)
    assert _last(lab)["errorCode"] == "AccessDenied"
    assert len(lab.audit.filter(error_code="AccessDeniedException")) == 1


def test_reencrypt_names_source_then_destination_and_both_keys_count_as_used(lab, kms):
    src = kms.create_key()["KeyMetadata"]
    dst = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=SECRET)["CiphertextBlob"]
    kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["KeyId"])
    rec = _last(lab)
    assert [r["ARN"] for r in rec["resources"]] == [src["Arn"], dst["Arn"]]
    assert rec["additionalEventData"] == {"destinationKeyMaterialId": dst["CurrentKeyMaterialId"],
                                          "sourceKeyMaterialId": src["CurrentKeyMaterialId"]}
    for md in (src, dst):
        usage = kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]
        assert usage["Operation"] == "ReEncrypt" and usage["CloudTrailEventId"] == rec["eventID"]
        assert usage["KmsRequestId"] == rec["requestID"]


def test_calls_alike_still_log_what_differs(lab, kms):
    """Repeated calls share their encoding; the caller, context, material and error never leak
    from one record into another."""
    key = kms.create_key()["KeyMetadata"]
    context = {"Project": "Alpha"}
    kms.encrypt(KeyId=key["KeyId"], Plaintext=SECRET, EncryptionContext=context)
    context["Project"] = "Beta"  # the caller reuses its dict
    kms.encrypt(KeyId=key["KeyId"], Plaintext=SECRET, EncryptionContext=context)
    first, second = lab.audit.records()[-2:]
    assert first["requestParameters"]["encryptionContext"] == {"Project": "Alpha"}
    assert second["requestParameters"]["encryptionContext"] == {"Project": "Beta"}

    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    kms.encrypt(KeyId=key["KeyId"], Plaintext=SECRET, EncryptionContext={"Project": "Alpha"})
    rotated = _last(lab)
    new_material = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert rotated["additionalEventData"] == {"keyMaterialId": new_material}
    assert first["additionalEventData"] == {"keyMaterialId": key["CurrentKeyMaterialId"]}
    assert rotated["requestParameters"] == first["requestParameters"]

    lab.add_user("bob", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    lab.client(as_="bob").encrypt(KeyId=key["KeyId"], Plaintext=SECRET,
                                  EncryptionContext={"Project": "Alpha"})
    assert _last(lab)["userIdentity"]["userName"] == "bob"
    assert rotated["userIdentity"]["arn"] == lab.admin().arn

    for missing in ("1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890ac"):
        with pytest.raises(errors.NotFoundException):
            kms.encrypt(KeyId=missing, Plaintext=SECRET)
        assert missing in _last(lab)["errorMessage"]
    request_ids = [r["requestID"] for r in lab.audit.filter(event_type="AwsApiCall")]
    assert len(request_ids) == len(set(request_ids))


def test_reencrypt_logs_the_destination_material_of_each_call(lab, kms):
    src = kms.create_key()["KeyMetadata"]
    dst = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=SECRET)["CiphertextBlob"]
    kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["KeyId"])
    before = _last(lab)["additionalEventData"]
    kms.rotate_key_on_demand(KeyId=dst["KeyId"])
    kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["KeyId"])
    after = _last(lab)["additionalEventData"]
    rotated = kms.describe_key(KeyId=dst["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert before["destinationKeyMaterialId"] == dst["CurrentKeyMaterialId"] != rotated
    assert after == {"destinationKeyMaterialId": rotated,
                     "sourceKeyMaterialId": src["CurrentKeyMaterialId"]}


def test_last_usage_is_the_newest_call_even_when_an_older_one_looked_the_same(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=SECRET, EncryptionContext=CONTEXT)["CiphertextBlob"]
    lab.clock.advance(hours=1)
    kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    assert kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]["Operation"] == "Decrypt"
    lab.clock.advance(hours=1)
    kms.encrypt(KeyId=key, Plaintext=SECRET, EncryptionContext=CONTEXT)
    rec = _last(lab)
    usage = kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]
    assert (usage["Operation"], usage["CloudTrailEventId"], usage["Timestamp"]) == \
        ("Encrypt", rec["eventID"], lab.clock.now())


def test_service_events_have_no_caller(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert _last(lab)["responseElements"]["keyState"] == "PendingDeletion"
    lab.clock.advance(days=7)
    rec = _last(lab)
    assert rec["eventName"] == "DeleteKey" and rec["eventType"] == "AwsServiceEvent"
    assert rec["userIdentity"] == {"accountId": "111122223333", "invokedBy": "AWS Internal"}
    assert rec["requestParameters"] is None and "requestID" not in rec
    assert "serviceEventDetails" not in rec  # ct-delete-key: none for a key of KMS's own


def test_no_record_frame_or_export_ever_holds_secrets(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=SECRET, EncryptionContext=CONTEXT)["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext=CONTEXT)
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob)  # wrong context
    rnd = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    secrets = [SECRET, dk["Plaintext"], rnd, blob, dk["CiphertextBlob"]]
    needles = []
    for s in secrets:
        needles += [s.hex(), base64.b64encode(s).decode(), repr(s)[2:-1][:40]]
    df = lab.audit.frame(request_id=True, expand_context=True)
    texts = [json.dumps(lab.audit.to_cloudtrail()), lab.audit.to_jsonl(), str(lab.audit.records()),
             df.to_string(), df.to_json(default_handler=str, date_format="iso")]
    for text in texts:
        for needle in needles:
            assert needle not in text
        assert SECRET.decode() not in text


def test_cloudtrail_and_jsonl_round_trips_are_exact(lab, kms, tmp_path):
    md = kms.create_key(Description="x", Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=md["KeyId"])
    blob = kms.encrypt(KeyId="alias/app", Plaintext=SECRET, EncryptionContext=CONTEXT)["CiphertextBlob"]
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob)
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    lab.clock.advance(days=8)
    original = lab.audit.records()
    for path in (tmp_path / "trail.json", tmp_path / "trail.json.gz"):
        lab.audit.to_cloudtrail(path)
        assert AuditLog.from_cloudtrail(path).records() == original
    again = AuditLog.from_cloudtrail(json.loads(json.dumps(lab.audit.to_cloudtrail())))
    assert again.records() == original
    assert AuditLog.from_jsonl(lab.audit.to_jsonl()).records() == original
    assert again.frame().drop(columns="eventTime").equals(lab.audit.frame().drop(columns="eventTime"))
    with pytest.raises(TypeError):
        again.record(None, None, None)


def test_import_keeps_records_kmslab_would_render_differently():
    foreign = {"eventVersion": "1.05", "eventTime": "2020-07-27T22:58:24Z", "eventName": "Decrypt",
               "eventSource": "kms.amazonaws.com", "awsRegion": "us-west-2",
               "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/Alice",
                                "userName": "Alice", "accountId": "111122223333"},
               "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
               "responseElements": None, "eventID": "abc", "readOnly": True,
               "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}
    trail = AuditLog.from_cloudtrail({"Records": [foreign]})
    assert trail.records() == [foreign]
    assert list(trail.frame()["principal"]) == ["Alice"]


def test_filters(lab, kms):
    a = kms.create_key()["KeyMetadata"]
    b = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/a", TargetKeyId=a["KeyId"])
    kms.encrypt(KeyId=a["KeyId"], Plaintext=SECRET)
    lab.clock.advance(days=2)
    kms.encrypt(KeyId=b["KeyId"], Plaintext=SECRET)
    kms.disable_key(KeyId=b["KeyId"])
    with pytest.raises(errors.DisabledException):
        kms.encrypt(KeyId=b["KeyId"], Plaintext=SECRET)
    trail = lab.audit
    for form in (a["KeyId"], a["Arn"], "alias/a", "arn:aws:kms:us-east-1:111122223333:alias/a"):
        assert [r["eventName"] for r in trail.filter(key=form)] == ["CreateKey", "CreateAlias", "Encrypt"]
    assert len(trail.filter(event_name="Encrypt")) == 3
    assert len(trail.filter(event_name=["Encrypt", "DisableKey"], success=True)) == 3
    assert [r["errorCode"] for r in trail.filter(success=False)] == ["DisabledException"]
    day_two = kmslab.clock.DEFAULT_START.replace(day=2)
    assert len(trail.filter(end=day_two)) == 4
    assert len(trail.filter(start="2025-01-02T00:00:00Z")) == 3
    assert len(trail.filter(principal="admin")) == len(trail) == len(trail.filter(principal=lab.admin().arn))
    assert len(trail.filter(principal="nobody")) == 0
    view = trail.filter(key=b["KeyId"]).filter(event_name="Encrypt")
    assert len(view) == 2 and len(view.frame()) == 2 and view.to_jsonl().count("\n") == 2


def test_frame_dtypes_and_order(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key, Plaintext=SECRET, EncryptionContext=CONTEXT)
    lab.clock.advance(hours=1)
    kms.encrypt(KeyId=key, Plaintext=SECRET)
    df = lab.audit.frame(expand_context=True)
    assert str(df["eventTime"].dtype) == "datetime64[ns, UTC]"
    for c in ("eventName", "awsRegion", "principal", "userIdentity.type", "errorCode", "keyId",
              "encryptionContext", "requestParameters", "encryptionContext.Department"):
        assert isinstance(df[c].dtype, pd.CategoricalDtype), c
    assert df["readOnly"].dtype == bool and df["success"].dtype == bool
    assert df["eventTime"].is_monotonic_increasing
    assert df["encryptionContext"].iloc[1] == CONTEXT and df["encryptionContext"].iloc[2] == {}
    assert df["encryptionContext.Department"].iloc[1] == "Engineering"
    assert pd.isna(df["encryptionContext.Department"].iloc[2])
    assert list(df["eventID"]) == [r["eventID"] for r in lab.audit.records()]


def test_get_key_last_usage_shapes_follow_botocore(lab, kms):
    model = botocore.session.get_session().get_service_model("kms")
    out_shape = model.operation_model("GetKeyLastUsage").output_shape
    md = kms.create_key()["KeyMetadata"]
    fresh = kms.get_key_last_usage(KeyId=md["KeyId"])
    assert "KeyLastUsage" not in fresh
    assert fresh["KeyCreationDate"] == md["CreationDate"] and fresh["TrackingStartDate"] <= md["CreationDate"]
    kms.describe_key(KeyId=md["KeyId"])  # not a tracked operation
    assert "KeyLastUsage" not in kms.get_key_last_usage(KeyId=md["KeyId"])
    lab.clock.advance(days=1)
    kms.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_128")
    rec = _last(lab)
    kms.disable_key(KeyId=md["KeyId"])
    with pytest.raises(errors.DisabledException):
        kms.encrypt(KeyId=md["KeyId"], Plaintext=SECRET)  # failures do not count
    out = kms.get_key_last_usage(KeyId=md["Arn"])
    assert set(out) - {"ResponseMetadata"} <= set(out_shape.members)
    usage = out["KeyLastUsage"]
    assert set(usage) <= set(out_shape.members["KeyLastUsage"].members)
    assert usage["Operation"] in out_shape.members["KeyLastUsage"].members["Operation"].enum
    assert usage == {"Operation": "GenerateDataKey", "Timestamp": lab.clock.now(),
                     "CloudTrailEventId": rec["eventID"], "KmsRequestId": rec["requestID"]}
    with pytest.raises(errors.NotFoundException):
        kms.get_key_last_usage(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")


class _Forgetful(dict):
    """A cache that never keeps anything."""

    def __setitem__(self, key, value):
        pass


class _Alone(AuditLog):
    """An audit log that encodes every call alone, never sharing the shape of an earlier call."""

    _last_alike = property(lambda self: None, lambda self, value: None)


_steps = st.lists(st.tuples(
    st.sampled_from(["encrypt", "decrypt", "re_encrypt", "generate_data_key", "rotate", "tick",
                     "missing_key", "bob"]),
    st.sampled_from(["a", "b"]), st.sampled_from(["Alpha", "Beta", None])), max_size=25)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_steps)
@example([("encrypt", "a", "Alpha"), ("re_encrypt", "a", "Alpha"), ("rotate", "b", "Alpha"),
          ("re_encrypt", "a", "Alpha"), ("bob", "a", None), ("encrypt", "a", None)])
def test_sharing_the_encoding_of_alike_calls_changes_no_record(steps):
    """The same calls give equal trails whether calls alike share their encoding or each call
    is encoded alone."""
    assert _trail_of(steps, alone=False) == _trail_of(steps, alone=True)


def _trail_of(steps, alone):
    lab = kmslab.Lab(seed=5)
    if alone:
        lab.audit.__class__ = _Alone
        lab.audit._call_shapes = _Forgetful()
    kms = lab.client()
    lab.add_user("bob", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    clients = {"admin": kms, "bob": lab.client(as_="bob")}
    keys = {name: kms.create_key()["KeyMetadata"]["KeyId"] for name in ("a", "b")}
    context = {"Project": "Alpha"}  # one dict, changed between calls as callers do
    blobs = {}
    who = "admin"
    for action, key, project in steps:
        client = clients[who]
        if project is None:
            context.clear()
        else:
            context["Project"] = project
        try:
            if action == "encrypt":
                blobs[key] = client.encrypt(KeyId=keys[key], Plaintext=SECRET,
                                            EncryptionContext=context)["CiphertextBlob"]
            elif action == "decrypt" and key in blobs:
                client.decrypt(CiphertextBlob=blobs[key], EncryptionContext=context)
            elif action == "re_encrypt" and key in blobs:
                client.re_encrypt(CiphertextBlob=blobs[key], SourceEncryptionContext=context,
                                  DestinationKeyId=keys["b" if key == "a" else "a"])
            elif action == "generate_data_key":
                client.generate_data_key(KeyId=keys[key], KeySpec="AES_256",
                                         EncryptionContext=context)
            elif action == "rotate":
                client.rotate_key_on_demand(KeyId=keys[key])
            elif action == "tick":
                lab.clock.advance(minutes=5)
            elif action == "missing_key":
                client.encrypt(KeyId="alias/" + key, Plaintext=SECRET)
            elif action == "bob":
                who = "bob" if who == "admin" else "admin"
        except errors.KMSError:
            pass
    return lab.audit.records(), {k: lab.audit.last_use(lab.key_arn(k)) for k in keys.values()}


def test_pool_entries_are_written_in_one_pass_and_odd_values_as_their_plain_data():
    """A store writes the new entries of a pool as one JSON text; an entry JSON has no form for
    (a key that is not a string, from a request that failed validation) is written as its text,
    and its neighbours as they are."""
    from datetime import datetime, timezone

    from kmslab.audit import _entries_text
    from kmslab.frozen import FrozenDict

    assert _entries_text("params", [FrozenDict(a=1), {"b": [1, 2]}]) == '{"a":1},{"b":[1,2]}'
    assert _entries_text("params", []) == ""
    odd = _entries_text("params", [{"a": 1}, {1: "b", "when": datetime(2025, 1, 1, tzinfo=timezone.utc)}])
    assert json.loads(f"[{odd}]") == [{"a": 1}, {"1": "b", "when": "2025-01-01 00:00:00+00:00"}]
    assert _entries_text("responses", [(3, {"keyId": "k"})]) == '[3,{"keyId":"k"}]'
