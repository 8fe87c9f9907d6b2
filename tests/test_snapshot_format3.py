"""Payload format 3: a key's document leaves out the fields at their defaults (null, or
``KEY_DEFAULTS``) and the default key policy; what loads back is the same lab."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

import kmslab
from kmslab import snapshot
from kmslab.crypto.wrapping import wrap_key_material
from kmslab.plaindata import compact_json_bytes, encode_time
from kmslab.policy import default_key_policy
from kmslab.snapshot.document import KEY_DEFAULTS

PASS = "format three"


def _keys(document: dict) -> dict:
    return {key["key_id"]: key for service in document["services"] for key in service["keys"]}


def _round_trip(lab) -> kmslab.Lab:
    return kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)


def test_a_new_key_is_written_as_its_id_time_spec_usage_state_and_material():
    lab = kmslab.Lab(seed=1)
    key_id = lab.client().create_key()["KeyMetadata"]["KeyId"]
    key = _keys(snapshot.to_document(lab))[key_id]
    assert set(key) == {"key_id", "created", "key_spec", "key_usage", "state", "versions"}
    assert set(key["versions"][0]) == {"material_id", "material", "created", "state"}
    assert snapshot.PAYLOAD_FORMAT == 3


def test_every_field_off_its_default_is_written_and_loads_back():
    lab = kmslab.Lab(seed=2)
    kms = lab.client()
    policy = json.loads(default_key_policy(lab.default_account))
    policy["Statement"][0]["Sid"] = "mine"
    text = json.dumps(policy)
    key_id = kms.create_key(Description="d", Policy=text, Tags=[{"TagKey": "t", "TagValue": "v"}],
                            MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=100)
    kms.rotate_key_on_demand(KeyId=key_id)
    kms.create_grant(KeyId=key_id, GranteePrincipal=lab.add_user("bob").arn, Operations=["Decrypt"])
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=9)
    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    key = _keys(snapshot.to_document(lab))[key_id]
    assert {"policy", "description", "tags", "multi_region", "multi_region_config",
            "rotation_period_days", "on_demand_rotations", "deletion_date", "pending_window_days",
            "rotation_status_before_deletion", "grants", "scheduled"} <= set(key)
    assert key["policy"] == text and key["description"] == "d" and key["tags"] == {"t": "v"}
    assert _keys(snapshot.to_document(lab))[external]["origin"] == "EXTERNAL"
    assert set(KEY_DEFAULTS) <= {"origin", "key_manager", "description", "multi_region",
                                 "rotation_enabled", "on_demand_rotations"}
    back = _round_trip(lab).client()
    for kid in (key_id, external):
        assert back.describe_key(KeyId=kid)["KeyMetadata"] == \
            kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert back.get_key_policy(KeyId=key_id)["Policy"] == text
    assert back.list_grants(KeyId=key_id)["Grants"] == kms.list_grants(KeyId=key_id)["Grants"]
    assert back.list_key_rotations(KeyId=key_id)["Rotations"] == \
        kms.list_key_rotations(KeyId=key_id)["Rotations"]


def test_a_left_out_policy_is_the_default_key_policy_of_the_keys_own_account():
    lab = kmslab.Lab(seed=3)
    other = lab.add_account("444455556666", name="other")
    mine = lab.client().create_key()["KeyMetadata"]["KeyId"]
    theirs = lab.client(account=other).create_key()["KeyMetadata"]["KeyId"]
    document = snapshot.to_document(lab)
    assert "policy" not in _keys(document)[mine] and "policy" not in _keys(document)[theirs]
    back = _round_trip(lab)
    assert back.client().get_key_policy(KeyId=mine)["Policy"] == \
        default_key_policy(lab.default_account)
    assert back.client(account=other).get_key_policy(KeyId=theirs)["Policy"] == \
        default_key_policy("444455556666")
    assert "444455556666:root" in default_key_policy("444455556666")


def test_a_policy_the_caller_gave_is_kept_even_when_it_differs_only_in_layout():
    lab = kmslab.Lab(seed=4)
    compact = json.dumps(json.loads(default_key_policy(lab.default_account)))
    key_id = lab.client().create_key(Policy=compact)["KeyMetadata"]["KeyId"]
    assert _keys(snapshot.to_document(lab))[key_id]["policy"] == compact
    assert _round_trip(lab).client().get_key_policy(KeyId=key_id)["Policy"] == compact


def test_a_format_2_key_with_every_field_and_nulls_still_loads():
    lab = kmslab.Lab(seed=5)
    key_id = lab.client().create_key(Description="two")["KeyMetadata"]["KeyId"]
    document = json.loads(json.dumps(snapshot.to_document(lab)))
    key = _keys(document)[key_id]
    key.update({"policy": default_key_policy(lab.default_account), "origin": "AWS_KMS",
                "key_manager": "CUSTOMER", "tags": {}, "deletion_date": None,
                "pending_window_days": None, "multi_region": False, "multi_region_config": None,
                "custom_key_store_id": None, "cloudhsm_cluster_id": None, "xks_key_id": None,
                "rotation_enabled": False, "rotation_period_days": None, "next_rotation": None,
                "rotation_status_before_deletion": None, "on_demand_rotations": 0,
                "on_demand_started": None, "grants": [], "import_parameters": [],
                "scheduled": {}})
    key["versions"][0].update({"rotation_type": None, "import_state": None,
                               "expiration_model": None, "valid_to": None, "description": None,
                               "fingerprint": None, "rotation_date": None})
    back = snapshot.from_document(document)
    assert snapshot.to_document(back) == snapshot.to_document(lab)
    assert back.client().describe_key(KeyId=key_id)["KeyMetadata"] == \
        lab.client().describe_key(KeyId=key_id)["KeyMetadata"]


def test_a_missing_required_field_of_a_key_is_still_refused():
    lab = kmslab.Lab(seed=6)
    key_id = lab.client().create_key()["KeyMetadata"]["KeyId"]
    for field in ("key_id", "created", "key_spec", "key_usage", "state"):
        document = json.loads(json.dumps(snapshot.to_document(lab)))
        del _keys(document)[key_id][field]
        with pytest.raises(snapshot.SnapshotError, match=field):
            snapshot.from_document(document)


@pytest.mark.parametrize("offset", [timedelta(hours=5, minutes=30), timedelta(hours=-3, seconds=-1)])
def test_a_time_in_another_offset_is_written_as_it_was_given(offset):
    """Times in UTC in a key's document are left to the JSON encoder; any other offset is
    written by the document writer, exactly (orjson would drop an offset's seconds)."""
    lab = kmslab.Lab(seed=7)
    kms = lab.client()
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    valid_to = (lab.clock.now() + timedelta(days=30)).astimezone(timezone(offset))
    kms.import_key_material(
        KeyId=key_id, ImportToken=params["ImportToken"], ValidTo=valid_to,
        ExpirationModel="KEY_MATERIAL_EXPIRES",
        EncryptedKeyMaterial=wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256",
                                               os.urandom(32)))
    cache: dict = {}
    cached = json.loads(snapshot.payload.encode(snapshot.to_document(lab, cache=cache), ""
                                                ).split(b"\n", 1)[1])
    fresh = json.loads(json.dumps(snapshot.to_document(lab)))
    assert cached == fresh
    stored = kms.describe_key(KeyId=key_id)["KeyMetadata"]["ValidTo"]
    assert _keys(fresh)[key_id]["versions"][0]["valid_to"] == encode_time(stored)
    back = _round_trip(lab).client().describe_key(KeyId=key_id)["KeyMetadata"]["ValidTo"]
    assert back == stored and back.isoformat() == stored.isoformat()


def test_utc_times_written_by_the_json_encoder_are_the_documents_text():
    times = [datetime(1970, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 9, 0, 0, 1, tzinfo=UTC),
             datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    for when in times:
        assert json.loads(compact_json_bytes({"t": when}, utc_times=True)) == {"t": encode_time(when)}
    # a value orjson leaves to the standard library (a lone surrogate) keeps its times too
    assert json.loads(compact_json_bytes({"t": times[1], "s": "\ud800"}, utc_times=True)) == \
        {"t": encode_time(times[1]), "s": "\ud800"}
    with pytest.raises(TypeError):
        compact_json_bytes({"t": times[1]})  # without utc_times a time is not plain data
