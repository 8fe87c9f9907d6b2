"""Importing key material: every wrapping algorithm and key type end to end, every error path,
expiry on the clock, deletion without waiting, imported-key rotation, events and the metric."""

import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kmslab import errors
from kmslab.byok import import_key_material, wrap_key_material
from kmslab.crypto.symmetric import parse_blob

from shapes import check_response

LAB_SEED = 9


def external_key(kms, **params):
    return kms.create_key(Origin="EXTERNAL", **params)["KeyMetadata"]["KeyId"]


def do_import(kms, key, material, algorithm="RSAES_OAEP_SHA_256", spec="RSA_2048", **params):
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
    params.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(KeyId=key, ImportToken=p["ImportToken"],
                                   EncryptedKeyMaterial=wrap_key_material(p["PublicKey"], algorithm, material),
                                   **params)


def pkcs8(private_key):
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def state(kms, key):
    return kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"]


# ------------------------------------------------------------------ end to end
def test_get_parameters_for_import_shape_and_lifetime(lab, kms):
    key = external_key(kms)
    assert state(kms, key) == "PendingImport"
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_3072")
    check_response("GetParametersForImport", p)
    assert p["ParametersValidTo"] == lab.clock.now() + timedelta(hours=24)
    public = serialization.load_der_public_key(p["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 3072
    assert p["KeyId"].endswith(key)


@pytest.mark.parametrize("algorithm,spec", [
    ("RSAES_OAEP_SHA_1", "RSA_2048"), ("RSAES_OAEP_SHA_256", "RSA_2048"),
    ("RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"), ("RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
    ("RSAES_OAEP_SHA_256", "RSA_3072"), ("RSA_AES_KEY_WRAP_SHA_256", "RSA_4096"),
])
def test_symmetric_import_with_every_wrapping_algorithm_and_key_spec(kms, algorithm, spec):
    key = external_key(kms)
    response = do_import(kms, key, os.urandom(32), algorithm, spec)
    check_response("ImportKeyMaterial", response)
    assert state(kms, key) == "Enabled"
    blob = kms.encrypt(KeyId=key, Plaintext=b"secret")
    assert parse_blob(blob["CiphertextBlob"]).key_material_id == response["KeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=blob["CiphertextBlob"])["Plaintext"] == b"secret"


def test_hmac_import_matches_plain_hmac(kms):
    key = external_key(kms, KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")
    material = os.urandom(64)
    do_import(kms, key, material, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")
    assert state(kms, key) == "Enabled"
    with pytest.raises(errors.IncorrectKeyMaterialException):  # HMAC_384 takes 48..128 bytes
        do_import(kms, external_key(kms, KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC"), os.urandom(32))
    if not hasattr(kms, "generate_mac"):
        pytest.skip("GenerateMac is served by the HMAC operations module")
    tag = kms.generate_mac(KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_384")["Mac"]
    expected = hmac.HMAC(material, hashes.SHA384())
    expected.update(b"m")
    assert tag == expected.finalize()


@pytest.mark.parametrize("spec,usage,make", [
    ("RSA_2048", "SIGN_VERIFY", lambda: rsa.generate_private_key(65537, 2048)),
    ("ECC_NIST_P256", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP256R1())),
    ("ECC_NIST_P384", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP384R1())),
])
def test_asymmetric_private_key_import(kms, spec, usage, make):
    private_key = make()
    key = external_key(kms, KeySpec=spec, KeyUsage=usage)
    do_import(kms, key, pkcs8(private_key), "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048")
    assert state(kms, key) == "Enabled"
    if hasattr(kms, "get_public_key"):
        public = kms.get_public_key(KeyId=key)["PublicKey"]
        assert public == private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_ecc_with_direct_oaep(kms):
    private_key = ec.generate_private_key(ec.SECP256R1())
    key = external_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    do_import(kms, key, pkcs8(private_key), "RSAES_OAEP_SHA_256", "RSA_2048")
    assert state(kms, key) == "Enabled"


def test_rsa_private_key_needs_rsa_aes_wrapping(kms):
    key = external_key(kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    with pytest.raises(errors.ValidationException):
        kms.import_key_material(KeyId=key, ImportToken=p["ImportToken"], EncryptedKeyMaterial=b"\0" * 256,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert state(kms, key) == "PendingImport"


def test_byok_helper_records_each_step(lab, kms):
    key = external_key(kms)
    steps = import_key_material(kms, key, os.urandom(32), wrapping_key_spec="RSA_2048",
                                valid_to=lab.clock.now() + timedelta(days=30))
    assert [s.name for s in steps.steps] == ["GetParametersForImport", "Wrap key material",
                                            "ImportKeyMaterial", "DescribeKey"]
    assert steps.steps[-1].facts["key_state"] == "Enabled"
    assert len(steps.key_material_id) == 64
    assert list(steps.frame()["step"]) == [1, 2, 3, 4]


# ------------------------------------------------------------------ errors
def test_wrong_origin_is_unsupported(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.UnsupportedOperationException, match="origin is AWS_KMS"):
        kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    for call in (lambda: kms.import_key_material(KeyId=key, ImportToken=b"t", EncryptedKeyMaterial=b"m",
                                                 ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"),
                 lambda: kms.delete_imported_key_material(KeyId=key)):
        with pytest.raises(errors.UnsupportedOperationException):
            call()


def test_pkcs1_v1_5_wrapping_is_refused(kms):
    with pytest.raises(errors.ValidationException):
        kms.get_parameters_for_import(KeyId=external_key(kms), WrappingAlgorithm="RSAES_PKCS1_V1_5",
                                      WrappingKeySpec="RSA_2048")


def test_token_of_another_key_is_invalid(kms):
    a, b = external_key(kms), external_key(kms)
    p = kms.get_parameters_for_import(KeyId=a, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    with pytest.raises(errors.InvalidImportTokenException):
        kms.import_key_material(KeyId=b, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert state(kms, b) == "PendingImport"


def test_token_expires_after_24_hours(lab, kms):
    key = external_key(kms)
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    lab.clock.advance(hours=24)
    with pytest.raises(errors.ExpiredImportTokenException):
        kms.import_key_material(KeyId=key, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert state(kms, key) == "PendingImport"


def test_material_wrapped_for_another_wrapping_key_does_not_unwrap(kms):
    key = external_key(kms)
    p1 = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    p2 = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(p1["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    with pytest.raises(errors.InvalidCiphertextException):
        kms.import_key_material(KeyId=key, ImportToken=p2["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")


def test_wrong_length_symmetric_material(kms):
    key = external_key(kms)
    with pytest.raises(errors.IncorrectKeyMaterialException):
        do_import(kms, key, os.urandom(16))
    assert state(kms, key) == "PendingImport"


@pytest.mark.parametrize("params", [
    {"ExpirationModel": "KEY_MATERIAL_EXPIRES"},                                   # ValidTo missing
    {"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": "past"},
    {"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": "366 days"},
    {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "ValidTo": "30 days"},
    {"ValidTo": "past"},                                                           # default model
])
def test_valid_to_rules(lab, kms, params):
    now = lab.clock.now()
    when = {"past": now - timedelta(seconds=1), "366 days": now + timedelta(days=366),
            "30 days": now + timedelta(days=30)}
    params = {k: when.get(v, v) for k, v in params.items()}
    key = external_key(kms)
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    with pytest.raises(errors.ValidationException):
        kms.import_key_material(KeyId=key, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped, **params)
    assert state(kms, key) == "PendingImport"


def test_valid_to_exactly_365_days_is_accepted(lab, kms):
    key = external_key(kms)
    do_import(kms, key, os.urandom(32), ExpirationModel="KEY_MATERIAL_EXPIRES",
              ValidTo=lab.clock.now() + timedelta(days=365))
    metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert metadata["ValidTo"] == lab.clock.now() + timedelta(days=365)


def test_reimport_of_different_material_is_refused(kms):
    key = external_key(kms)
    do_import(kms, key, os.urandom(32))
    with pytest.raises(errors.IncorrectKeyMaterialException):
        do_import(kms, key, os.urandom(32))
    with pytest.raises(errors.IncorrectKeyMaterialException):
        do_import(kms, key, os.urandom(32), ImportType="EXISTING_KEY_MATERIAL")


def test_asymmetric_material_can_never_change(kms):
    key = external_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    do_import(kms, key, pkcs8(ec.generate_private_key(ec.SECP256R1())), "RSA_AES_KEY_WRAP_SHA_256")
    with pytest.raises(errors.IncorrectKeyMaterialException):
        do_import(kms, key, pkcs8(ec.generate_private_key(ec.SECP256R1())), "RSA_AES_KEY_WRAP_SHA_256")
    with pytest.raises(errors.ValidationException):
        do_import(kms, key, pkcs8(ec.generate_private_key(ec.SECP256R1())), "RSA_AES_KEY_WRAP_SHA_256",
                  ImportType="NEW_KEY_MATERIAL")


def test_pending_import_key_refuses_crypto_and_rotation_status(kms):
    key = external_key(kms)
    with pytest.raises(errors.KMSInvalidStateException, match="pending import"):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(errors.KMSInvalidStateException):
        kms.enable_key(KeyId=key)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.enable_key_rotation(KeyId=key)
    check_response("DeleteImportedKeyMaterial", kms.delete_imported_key_material(KeyId=key))  # no effect
    assert state(kms, key) == "PendingImport"


def test_pending_deletion_refuses_import(kms):
    key = external_key(kms)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")


# ------------------------------------------------------------------ expiry, deletion, re-import
def test_expiry_deletes_material_then_reimport_restores_old_ciphertexts(lab, kms):
    key = external_key(kms)
    material = os.urandom(32)
    first = do_import(kms, key, material, ExpirationModel="KEY_MATERIAL_EXPIRES",
                      ValidTo=lab.clock.now() + timedelta(days=10))["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"kept")["CiphertextBlob"]
    lab.clock.advance(days=10)
    assert state(kms, key) == "PendingImport"
    with pytest.raises(errors.KMSInvalidStateException):
        kms.decrypt(CiphertextBlob=blob)
    (event,) = [e for e in lab.events if e["detail-type"] == "KMS Imported Key Material Expiration"]
    assert event["detail"] == {"key-id": key} and event["time"] == lab.clock.now()
    record = next(r for r in lab.audit.records() if r["eventName"] == "DeleteExpiredKeyMaterial")
    assert record["eventType"] == "AwsServiceEvent" and record["serviceEventDetails"]["keyId"] == key
    again = do_import(kms, key, material)["KeyMaterialId"]
    assert again == first and state(kms, key) == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"


def test_delete_imported_material_is_immediate(lab, kms):
    key = external_key(kms)
    material = os.urandom(32)
    mid = do_import(kms, key, material)["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    out = kms.delete_imported_key_material(KeyId=key)
    assert out["KeyMaterialId"] == mid and state(kms, key) == "PendingImport"
    with pytest.raises(errors.KMSInvalidStateException):
        kms.decrypt(CiphertextBlob=blob)
    do_import(kms, key, material)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_delete_material_while_pending_deletion_keeps_state(kms):
    key = external_key(kms)
    do_import(kms, key, os.urandom(32))
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.delete_imported_key_material(KeyId=key)
    assert state(kms, key) == "PendingDeletion"


def test_same_material_in_two_keys_gets_two_ids_and_no_cross_decrypt(kms):
    material = os.urandom(32)
    a, b = external_key(kms), external_key(kms)
    ida, idb = do_import(kms, a, material)["KeyMaterialId"], do_import(kms, b, material)["KeyMaterialId"]
    assert ida != idb
    blob = kms.encrypt(KeyId=a, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(errors.IncorrectKeyException):
        kms.decrypt(CiphertextBlob=blob, KeyId=b)


# ------------------------------------------------------------------ imported-key rotation
def test_on_demand_rotation_of_imported_key(lab, kms):
    key = external_key(kms)
    old_material, new_material = os.urandom(32), os.urandom(32)
    old = do_import(kms, key, old_material, KeyMaterialDescription="2025")["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"old")["CiphertextBlob"]
    with pytest.raises(errors.KMSInvalidStateException):
        kms.rotate_key_on_demand(KeyId=key)  # nothing imported for rotation yet
    new = do_import(kms, key, new_material, ImportType="NEW_KEY_MATERIAL",
                    KeyMaterialDescription="2026")["KeyMaterialId"]
    listed = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    check_response("ListKeyRotations", listed)
    assert [(e["KeyMaterialId"], e["KeyMaterialState"], e["ImportState"], e["KeyMaterialDescription"])
            for e in listed["Rotations"]] == [(old, "CURRENT", "IMPORTED", "2025"),
                                              (new, "PENDING_ROTATION", "IMPORTED", "2026")]
    assert kms.generate_data_key(KeyId=key, NumberOfBytes=32)["KeyMaterialId"] == old
    kms.rotate_key_on_demand(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == new
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"old"
    (entry,) = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert entry["RotationType"] == "ON_DEMAND" and entry["KeyMaterialId"] == new
    event = [e for e in lab.events if e["detail-type"] == "KMS CMK Rotation"][-1]
    assert event["detail"]["key-origin"] == "EXTERNAL"
    assert event["detail"]["previous-key-material-id"] == old
    # deleting the old material makes the key PendingImport until it is back
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=old)
    assert state(kms, key) == "PendingImport"
    do_import(kms, key, old_material, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=old)
    assert state(kms, key) == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"old"


def test_key_material_id_must_match_on_existing_import(kms):
    key = external_key(kms)
    material = os.urandom(32)
    do_import(kms, key, material)
    with pytest.raises(errors.IncorrectKeyMaterialException):
        do_import(kms, key, material, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId="0" * 64)
    with pytest.raises(errors.ValidationException):
        do_import(kms, key, os.urandom(32), ImportType="NEW_KEY_MATERIAL", KeyMaterialId="0" * 64)


# ------------------------------------------------------------------ the metric
def test_seconds_until_expiration_metric_and_alarm(lab, kms):
    key = external_key(kms)
    lab.clock.advance_to(lab.clock.now().replace(minute=0, second=0, microsecond=0))
    valid_to = lab.clock.now() + timedelta(days=3)
    fired = []
    lab.metrics.put_metric_alarm("reimport", "SecondsUntilKeyMaterialExpiration", {"KeyId": key},
                                 threshold=86400, comparison_operator="LessThanOrEqualToThreshold",
                                 action=fired.append)
    do_import(kms, key, os.urandom(32), ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    lab.clock.advance(days=5)
    frame = lab.metrics.frame("SecondsUntilKeyMaterialExpiration", {"KeyId": key})
    assert list(frame.columns) == ["time", "namespace", "metric", "KeyId", "value", "unit"]
    assert len(frame) == 72  # hourly, until the material expired
    assert frame["value"].iloc[0] == 71 * 3600 and frame["value"].iloc[-1] == 0
    assert (frame["value"].diff().dropna() == -3600).all()
    assert set(frame["namespace"]) == {"AWS/KMS"} and set(frame["unit"]) == {"Seconds"}
    assert [a["StateValue"] for a in fired] == ["OK", "ALARM"]
    assert fired[1]["StateChangeTime"] == valid_to - timedelta(days=1)
    stats = lab.metrics.get_metric_statistics("AWS/KMS", "SecondsUntilKeyMaterialExpiration", {"KeyId": key},
                                              valid_to - timedelta(days=3), valid_to + timedelta(days=1), 86400)
    assert [p["Minimum"] for p in stats["Datapoints"]] == [49 * 3600, 25 * 3600, 3600, 0]


def test_no_metric_for_material_that_does_not_expire(lab, kms):
    do_import(kms, external_key(kms), os.urandom(32))
    lab.clock.advance(days=2)
    assert len(lab.metrics) == 0


def test_big_advance_fires_expiry_in_time_order_with_rotation(lab, kms):
    imported = external_key(kms)
    do_import(kms, imported, os.urandom(32), ExpirationModel="KEY_MATERIAL_EXPIRES",
              ValidTo=lab.clock.now() + timedelta(days=100))
    rotating = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotating, RotationPeriodInDays=90)
    lab.clock.advance(days=365)
    kinds = [(e["detail-type"], e["time"]) for e in lab.events]
    assert kinds == sorted(kinds, key=lambda k: k[1])
    assert [k for k, _ in kinds] == ["KMS CMK Rotation", "KMS Imported Key Material Expiration",
                                     "KMS CMK Rotation", "KMS CMK Rotation", "KMS CMK Rotation"]


def test_a_key_enabled_again_without_its_material_refuses_to_encrypt(kms):
    """Material deleted while the key waited for deletion; deletion cancelled, key enabled:
    Encrypt has no material to use and says so (KMSInvalidStateException), as Decrypt does."""
    key = external_key(kms)
    material = os.urandom(32)
    do_import(kms, key, material)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.delete_imported_key_material(KeyId=key)
    kms.cancel_key_deletion(KeyId=key)
    kms.enable_key(KeyId=key)
    with pytest.raises(errors.KMSInvalidStateException, match="pending import"):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    do_import(kms, key, material)  # the same material again: usable again
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"])[
        "Plaintext"] == b"x"
