"""Seed files: an instructor's readable description of a lab."""

import json
import os
import stat
import sys
from pathlib import Path

import pytest

import kmslab
from kmslab import errors, seed

EXAMPLE = Path(__file__).parent.parent / "examples" / "classroom_seed.json"


def _doc(**key):
    return {"seed": 1, "accounts": [{"id": "111122223333", "keys": [key]}]}


def test_the_classroom_example_loads(tmp_path):
    creds = tmp_path / "credentials"
    lab = kmslab.Lab.from_seed(EXAMPLE, credentials_file=creds)
    kms = lab.client()
    assert lab.clock.now().isoformat() == "2025-09-08T09:00:00+00:00"
    md = kms.describe_key(KeyId="alias/class-data")["KeyMetadata"]
    assert md["KeyId"] == "1234abcd-12ab-34cd-56ef-1234567890ab"
    assert md["Description"].startswith("Class data key")
    assert kms.get_key_rotation_status(KeyId=md["KeyId"])["RotationPeriodInDays"] == 90
    assert [r["RotationType"] for r in kms.list_key_rotations(KeyId=md["KeyId"])["Rotations"]] == ["ON_DEMAND"] * 2
    assert {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=md["KeyId"])["Tags"]} == \
        {"course": "cloud-security", "week": "3"}
    assert kms.describe_key(KeyId="alias/class-byok")["KeyMetadata"]["KeyState"] == "PendingImport"
    assert kms.describe_key(KeyId="alias/class-locked")["KeyMetadata"]["KeyState"] == "Disabled"
    signing = kms.describe_key(KeyId="alias/class-signing")["KeyMetadata"]
    assert (signing["KeySpec"], signing["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert kms.describe_key(KeyId="alias/class-hmac")["KeyMetadata"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert len(lab.client(account="444455556666").list_keys()["Keys"]) == 1
    # the student's access key works, and its identity policy decides
    text = creds.read_text()
    assert "[student]" in text and stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    access_key_id = text.split("aws_access_key_id = ")[1].split()[0]
    student = lab.client(as_=access_key_id)
    blob = student.encrypt(KeyId="alias/class-data", Plaintext=b"homework")["CiphertextBlob"]
    assert student.decrypt(CiphertextBlob=blob)["Plaintext"] == b"homework"
    with pytest.raises(errors.AccessDeniedException):
        student.sign(KeyId="alias/class-signing", Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    # the auditor may assume the role its trust policy names
    sts = lab.client("sts", as_="auditor-alice")
    sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/security-audit", RoleSessionName="s1")
    # the seed itself holds no secrets
    assert "aws_secret_access_key" not in EXAMPLE.read_text()


def test_the_same_seed_gives_the_same_lab():
    a, b = kmslab.Lab.from_seed(EXAMPLE), kmslab.Lab.from_seed(EXAMPLE)
    assert a.frame("keys").equals(b.frame("keys"))
    assert a.audit.records() == b.audit.records()
    assert a.client().create_key()["KeyMetadata"]["KeyId"] == b.client().create_key()["KeyMetadata"]["KeyId"]


def test_to_seed_round_trips_the_structure():
    lab = kmslab.Lab.from_seed(EXAMPLE)
    again = kmslab.Lab.from_seed(lab.to_seed())
    cols = ["KeyId", "KeyState", "KeySpec", "KeyUsage", "Description", "Origin"]
    assert again.frame("keys")[cols].equals(lab.frame("keys")[cols])
    assert again.frame("aliases")[["AliasName", "TargetKeyId"]].equals(
        lab.frame("aliases")[["AliasName", "TargetKeyId"]])
    assert again.frame("policies").equals(lab.frame("policies"))
    text = json.dumps(lab.to_seed())
    assert "Secret" not in text and "AKIA" not in text


def test_yaml_seed_files(tmp_path):
    pytest.importorskip("yaml")  # optional: seed files are JSON without it
    path = tmp_path / "class.yaml"
    seed.write_seed(json.loads(EXAMPLE.read_text()), path)
    assert "key_id: 1234abcd" in path.read_text()
    lab = kmslab.Lab.from_seed(path)
    assert lab.client().describe_key(KeyId="alias/class-data")["KeyMetadata"]["Enabled"]


@pytest.mark.parametrize("document, where, says", [
    ({"accounts": []}, "accounts", "at least one"),
    ({"acounts": []}, "acounts", "unknown field"),
    ({"accounts": [{"id": 111122223333}]}, "accounts[0].id", "12-digit account id in quotes"),
    (_doc(key_id="1234ABCD-12ab-34cd-56ef-1234567890ab"), "accounts[0].keys[0].key_id", "not a key id"),
    (_doc(key_id="alias/x"), "accounts[0].keys[0].key_id", "not a key id"),
    (_doc(key_spec="AES_256"), "accounts[0].keys[0].key_spec", "unknown key spec"),
    (_doc(key_spec="RSA_2048"), "accounts[0].keys[0].key_usage", "need a key_usage"),
    (_doc(key_spec="HMAC_256", key_usage="ENCRYPT_DECRYPT"), "accounts[0].keys[0].key_usage", "GENERATE_VERIFY_MAC"),
    (_doc(rotations=2, origin="EXTERNAL"), "accounts[0].keys[0].rotations", "only symmetric"),
    (_doc(rotation={"enabled": True, "period_days": 30}), "accounts[0].keys[0].rotation", "greater than or equal to 90"),
    (_doc(aliases=["my-alias"]), "accounts[0].keys[0].aliases[0]", "Alias must start with the prefix"),
    (_doc(policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/nobody"},
         "Action": "kms:Encrypt", "Resource": "*"}]}), "accounts[0].keys[0]", "MalformedPolicyDocument"),
    (_doc(key_id="1234abcd-12ab-34cd-56ef-1234567890ab", tags=["x"]), "accounts[0].keys[0].tags[0]", "must be an object"),
    ({"start": "next monday", "accounts": [{"id": "111122223333"}]}, "start", "ISO 8601"),
    ({"start": "2025-01-02T00:00:00Z", "clock": "2025-01-01T00:00:00Z",
      "accounts": [{"id": "111122223333"}]}, "clock", "only moves forward"),
    ({"accounts": [{"id": "111122223333", "users": [{"nam": "x"}]}]}, "accounts[0].users[0].nam", "unknown field"),
])
def test_wrong_documents_say_where(document, where, says):
    with pytest.raises(seed.SeedError) as exc:
        kmslab.Lab.from_seed(document)
    assert exc.value.path == where
    assert says in str(exc.value)


def test_key_ids_given_twice_are_refused():
    doc = {"accounts": [{"id": "111122223333", "keys": [
        {"key_id": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        {"key_id": "1234abcd-12ab-34cd-56ef-1234567890ab"}]}]}
    with pytest.raises(seed.SeedError, match=r"keys\[1\].key_id: .* given twice"):
        kmslab.Lab.from_seed(doc)


def test_plaintext_material_only_when_explicitly_allowed_and_only_through_import():
    material = os.urandom(32)
    doc = _doc(key_id="1234abcd-12ab-34cd-56ef-1234567890ab", origin="EXTERNAL",
               testing_only_plaintext_key_material_hex=material.hex())
    with pytest.raises(seed.SeedError, match="for tests only"):
        kmslab.Lab.from_seed(doc)
    lab = kmslab.Lab.from_seed(doc, allow_testing_material=True)
    kms = lab.client()
    assert kms.describe_key(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")["KeyMetadata"]["KeyState"] == "Enabled"
    # it went through the documented import path
    names = [r["eventName"] for r in lab.audit.records()]
    assert "GetParametersForImport" in names and "ImportKeyMaterial" in names
    # and a generated key never takes material from a file
    with pytest.raises(seed.SeedError, match="only be imported into an EXTERNAL key"):
        kmslab.Lab.from_seed(_doc(testing_only_plaintext_key_material_hex=material.hex()),
                             allow_testing_material=True)


def test_bad_files_say_why(tmp_path):
    path = tmp_path / "class.json"
    path.write_text('{"accounts": [}')
    with pytest.raises(seed.SeedError, match="not valid JSON.*line 1"):
        kmslab.Lab.from_seed(path)


def test_to_seed_of_a_lab_holding_everything_builds_again():
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from snapshot_scenario import build_rich_lab
    lab = kmslab.Lab(seed=4)
    keep = build_rich_lab(lab)
    doc = lab.to_seed()
    again = kmslab.Lab.from_seed(json.loads(json.dumps(doc)))  # plain JSON all the way
    kms = again.client()
    app = kms.describe_key(KeyId="alias/payroll")["KeyMetadata"]
    assert app["KeyId"] == keep["keys"]["app"] and app["Description"] == "payroll"
    assert kms.get_key_rotation_status(KeyId=app["KeyId"])["RotationPeriodInDays"] == 90
    assert kms.describe_key(KeyId=keep["keys"]["ext"])["KeyMetadata"]["KeyState"] == "PendingImport"
    assert kms.describe_key(KeyId=keep["keys"]["off"])["KeyMetadata"]["KeyState"] == "Disabled"
    assert again.client("iam").get_role(RoleName="auditor")["Role"]["RoleName"] == "auditor"
    for gone in ("doomed", "hsm", "xks", "mrk"):
        with pytest.raises(errors.NotFoundException):
            kms.describe_key(KeyId=keep["keys"][gone])
    with pytest.raises(errors.DisabledException):  # disabled, as in the lab it describes
        kms.encrypt(KeyId=keep["keys"]["off"], Plaintext=b"x")
    with pytest.raises(errors.KMSError):  # a seed never carries material: old ciphertexts stay old
        kms.decrypt(CiphertextBlob=keep["blob_v2"])


def test_yaml_without_pyyaml_says_how_to_fix(tmp_path, monkeypatch):
    path = tmp_path / "class.yml"
    path.write_text("accounts: []\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(seed.SeedError, match="install PyYAML"):
        kmslab.Lab.from_seed(path)
