"""Seed files: an instructor's readable description of a lab."""

import json
import os
import re
import stat
import subprocess
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
    (_doc(rotation={"enabled": True, "period_days": 30}), "accounts[0].keys[0].rotation",
     "greater than or equal to 90"),
    (_doc(aliases=["my-alias"]), "accounts[0].keys[0].aliases[0]", "Alias must start with the prefix"),
    (_doc(policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/nobody"},
         "Action": "kms:Encrypt", "Resource": "*"}]}), "accounts[0].keys[0]", "MalformedPolicyDocument"),
    (_doc(key_id="1234abcd-12ab-34cd-56ef-1234567890ab", tags=["x"]), "accounts[0].keys[0].tags[0]",
     "must be an object"),
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


# ----------------------------------------------------------------- malformed seeds

def _account(**fields):
    return {"accounts": [{"id": "111122223333", **fields}]}


def _role(**fields):
    return _account(roles=[{"name": "r", **fields}])


@pytest.mark.parametrize("document, where, says", [
    # account ids are ASCII digits only
    ({"accounts": [{"id": "١١١١٢٢٢٢٣٣٣٣"}]}, "accounts[0].id", "digits 0-9"),
    ({"accounts": [{"id": "１１１１２２２２３３３３"}]}, "accounts[0].id", "digits 0-9"),
    # dates whose rotations (and the lab's other dates) would fall off the calendar
    ({"start": "9999-12-01T00:00:00Z", **_account(keys=[{"rotation": {"enabled": True}}])},
     "start", "outside the times a lab can hold"),
    ({"clock": "9999-12-31T23:59:59Z", **_account()}, "clock", "outside the times"),
    ({"start": "0001-01-01T00:00:00+05:00", **_account()}, "start", "outside the times"),
    (_doc(origin="EXTERNAL", testing_only_plaintext_key_material_hex="00" * 32,
          testing_only_valid_to="9999-12-31T23:59:59Z"),
     "accounts[0].keys[0].testing_only_valid_to", "outside the times"),
    # numbers
    ({"seed": 10 ** 30, **_account()}, "seed", "too large"),
    ({"seed": float("inf"), **_account()}, "seed", "not a finite number"),
    (_doc(policy={"Statement": [{"Condition": {"x": float("nan")}}]}),
     "accounts[0].keys[0].policy.Statement[0].Condition.x", "not a finite number"),
    (_doc(rotations=-3), "accounts[0].keys[0].rotations", "negative"),
    (_doc(rotation={"enabled": True, "period_days": "365"}),
     "accounts[0].keys[0].rotation.period_days", "whole number of days"),
    # strings where booleans belong
    (_doc(rotation={"enabled": "yes"}), "accounts[0].keys[0].rotation.enabled", "true or false"),
    (_doc(enabled="false"), "accounts[0].keys[0].enabled", "true or false"),
    (_account(users=[{"name": "bob", "access_key": "true"}]), "accounts[0].users[0].access_key",
     "true or false"),
    ({"kmslab_seed": True, **_account()}, "kmslab_seed", "not the format"),
    # empty objects (or other non-text) where a principal or a name belongs
    (_role(trusted=[{}]), "accounts[0].roles[0].trusted[0]", "account id (text)"),
    (_role(trusted=[123456789012]), "accounts[0].roles[0].trusted[0]", "account id (text)"),
    (_role(trust_policy={"Statement": [{"Effect": "Allow", "Principal": {},
                                        "Action": "sts:AssumeRole"}]}),
     "accounts[0].roles[0].trust_policy", "MalformedPolicyDocument"),
    (_account(users=[{"name": 5}]), "accounts[0].users[0].name", "user name"),
    (_account(roles=[{"name": None}]), "accounts[0].roles[0].name", "role name"),
    (_account(name=5), "accounts[0].name", "text"),
    (_doc(key_usage=["ENCRYPT_DECRYPT"]), "accounts[0].keys[0].key_usage", "key usage"),
    # too many access keys for one user (AWS: 2)
    (_account(users=[{"name": "bob", "access_key": True}] * 3), "accounts[0].users[2].access_key",
     "AWS allows 2 per user"),
    # the document itself
    ([], "", "must be an object"),
    (None, "", "must be an object"),
    ("", "", "must be an object"),
    # text that is not Unicode, field names that are not text, nesting
    (_account(name="\ud800"), "accounts[0].name", "lone surrogate"),
    (_doc(tags={"\udc00": "x"}), "accounts[0].keys[0].tags", "not valid Unicode text"),
    (_doc(tags={1: "x"}), "accounts[0].keys[0].tags", "field names are text"),
    (_doc(policy=json.loads("[" * 40 + "]" * 40)), "accounts[0].keys[0].policy" + "[0]" * 27,
     "more than 32 levels"),
])
def test_malformed_documents_say_where(document, where, says):
    with pytest.raises(seed.SeedError) as exc:
        if isinstance(document, str):  # a str is a file name to from_seed
            seed.validate(document)
        else:
            kmslab.Lab.from_seed(document, allow_testing_material=True)
    assert exc.value.path == where
    assert says in str(exc.value)
    assert str(exc.value).startswith(f"{where or 'document'}: ")


def test_two_access_keys_per_user_are_fine(tmp_path):
    import configparser

    creds = tmp_path / "credentials"
    lab = kmslab.Lab.from_seed(_account(users=[{"name": "bob", "access_key": True}] * 2),
                               credentials_file=creds)
    profiles = configparser.ConfigParser()
    profiles.read(creds)
    assert profiles.sections() == ["bob", "bob-2"]
    for profile in profiles.sections():
        key_id = profiles[profile]["aws_access_key_id"]
        assert lab.authenticate(key_id)[0].arn == "arn:aws:iam::111122223333:user/bob"


@pytest.mark.parametrize("name, content, says", [
    ("latin1.json", '{"accounts": [{"id": "111122223333", "name": "café"}]}'.encode("latin-1"),
     "latin1.json is not UTF-8 text: byte 0xe9 at offset"),
    ("utf16.json", '{"accounts": []}'.encode("utf-16"), "utf16.json is not UTF-8 text"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "deep.json nests objects or lists too deeply"),
    ("big.json", b'{"seed": ' + b"9" * 5000 + b', "accounts": []}', "a number too long to read"),
    ("inf.json", b'{"seed": 1e400, "accounts": [{"id": "111122223333"}]}', "seed: is not a finite"),
    ("list.json", b"[]", "document: must be an object, not list"),
    ("null.json", b"null", "document: must be an object, not NoneType"),
])
def test_malformed_files_say_why(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(seed.SeedError, match=re.escape(says)):
        kmslab.Lab.from_seed(path)


@pytest.mark.parametrize("content, says", [
    (b'a: &a [x, x]\nb: [*a, *a]\naccounts: [{id: "111122223333"}]\n', "YAML aliases"),
    (b'start: 2025-01-01T00:00:00Z\naccounts: [{id: "111122223333"}]\n',
     "start: is a YAML value of type datetime"),
    (b'accounts: [{id: "111122223333", name: !!binary aGk=}]\n', "accounts[0].name: is a YAML value"),
    (b"[" * 100_000 + b"]" * 100_000, "nests mappings or lists too deeply"),
    (b"seed: " + b"9" * 5000 + b"\naccounts: []\n", "a number too long to read"),
    (b"", "document: must be an object, not NoneType"),
    (b"- 1\n", "document: must be an object, not list"),
    ('accounts: [{id: "111122223333", name: café}]'.encode("latin-1"), "is not UTF-8 text"),
])
def test_malformed_yaml_files_say_why(tmp_path, content, says):
    pytest.importorskip("yaml")
    path = tmp_path / "class.yaml"
    path.write_bytes(content)
    with pytest.raises(seed.SeedError, match=re.escape(says)):
        kmslab.Lab.from_seed(path)


@pytest.mark.parametrize("content", [b"[]", b'{"accounts": [{"id": "\\u0661' + b"1" * 11 + b'"}]}',
                                     b'{"accounts": [}', b"\xff\xfe"])
def test_serve_with_a_malformed_seed_file_prints_the_error_not_a_traceback(tmp_path, content):
    pytest.importorskip("uvicorn")
    path = tmp_path / "class.json"
    path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "kmslab", "serve", "--port", "0", "--seed-file", str(path)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")})
    assert result.returncode != 0
    assert result.stderr.startswith(f"kmslab serve: --seed-file {path}: ")
    assert "Traceback" not in result.stderr + result.stdout
