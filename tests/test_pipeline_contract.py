"""The pipeline's contract with handlers: DryRun stops before any effect, the key a ciphertext
names goes through the same steps as any key, handlers report an Outcome, and backing keys are
used only through the interface of their key usage."""

import ast
import pathlib

import pytest

import kmslab
from kmslab import errors, operations
from kmslab.crypto import backing
from kmslab.crypto.symmetric import SymmetricMaterial
from kmslab.service import registry

LAB_SEED = 23
ROOT = pathlib.Path(kmslab.__file__).parent
ACCOUNT = "111122223333"


@pytest.fixture
def keys(kms):
    def make(**params):
        return kms.create_key(**params)["KeyMetadata"]["KeyId"]
    return {"sym": make(), "sign": make(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
            "hmac": make(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"),
            "agree": make(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT"),
            "kem": make(KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE"),
            "rsa": make(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")}


def _requests(kms, keys):
    """A valid request of every operation that has DryRun."""
    sym, me = keys["sym"], f"arn:aws:iam::{ACCOUNT}:user/admin"
    blob = kms.encrypt(KeyId=sym, Plaintext=b"x")["CiphertextBlob"]
    sig = kms.sign(KeyId=keys["sign"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    mac = kms.generate_mac(KeyId=keys["hmac"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    peer = kms.get_public_key(KeyId=keys["agree"])["PublicKey"]
    kem = kms.encapsulate(KeyId=keys["kem"], EncapsulationAlgorithm="ML_KEM")
    grant = kms.create_grant(KeyId=sym, GranteePrincipal=me, Operations=["Encrypt"])["GrantId"]
    return {
        "Encrypt": dict(KeyId=sym, Plaintext=b"x"),
        "Decrypt": dict(CiphertextBlob=blob),
        "ReEncrypt": dict(CiphertextBlob=blob, DestinationKeyId=sym),
        "GenerateDataKey": dict(KeyId=sym, NumberOfBytes=32),
        "GenerateDataKeyWithoutPlaintext": dict(KeyId=sym, NumberOfBytes=32),
        "GenerateDataKeyPair": dict(KeyId=sym, KeyPairSpec="ECC_NIST_P256"),
        "GenerateDataKeyPairWithoutPlaintext": dict(KeyId=sym, KeyPairSpec="ECC_NIST_P256"),
        "Sign": dict(KeyId=keys["sign"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256"),
        "Verify": dict(KeyId=keys["sign"], Message=b"m", Signature=sig,
                       SigningAlgorithm="ECDSA_SHA_256"),
        "GenerateMac": dict(KeyId=keys["hmac"], Message=b"m", MacAlgorithm="HMAC_SHA_256"),
        "VerifyMac": dict(KeyId=keys["hmac"], Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256"),
        "DeriveSharedSecret": dict(KeyId=keys["agree"], KeyAgreementAlgorithm="ECDH", PublicKey=peer),
        "Encapsulate": dict(KeyId=keys["kem"], EncapsulationAlgorithm="ML_KEM"),
        "Decapsulate": dict(KeyId=keys["kem"], EncapsulationAlgorithm="ML_KEM",
                            SharedSecretCiphertextBlob=kem["SharedSecretCiphertextBlob"]),
        "CreateGrant": dict(KeyId=sym, GranteePrincipal=me, Operations=["Decrypt"]),
        "RetireGrant": dict(KeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{sym}", GrantId=grant),
        "RevokeGrant": dict(KeyId=sym, GrantId=grant),
    }


DRY_RUN_OPERATIONS = sorted(n for n, s in operations.specs().items() if s.dry_run)


def test_every_operation_with_dry_run_is_covered(kms, keys):
    assert set(_requests(kms, keys)) == set(DRY_RUN_OPERATIONS)
    assert len(DRY_RUN_OPERATIONS) == 17


def _method(kms, name):
    from botocore import xform_name
    return getattr(kms, xform_name(name))


@pytest.mark.parametrize("name", DRY_RUN_OPERATIONS)
def test_dry_run_stops_before_the_handler(lab, kms, keys, monkeypatch, name):
    params = _requests(kms, keys)[name]
    route = registry.ROUTES[name]

    def must_not_run(call, p):
        raise AssertionError(f"{name}'s handler ran for a DryRun request")
    monkeypatch.setitem(registry.ROUTES, name, registry.Route(
        route.spec, must_not_run, route.check, route.locate, route.named_key, route.key_check,
        route.source_check))
    grants = len(kms.list_grants(KeyId=keys["sym"])["Grants"])
    with pytest.raises(errors.DryRunOperationException) as exc:
        _method(kms, name)(**params, DryRun=True)
    assert exc.value.message == "The request would have succeeded, but the DryRun option is set."
    record = lab.audit.records()[-1]
    assert record["eventName"] == name and record["errorCode"] == "DryRunOperationException"
    assert len(kms.list_grants(KeyId=keys["sym"])["Grants"]) == grants
    monkeypatch.setitem(registry.ROUTES, name, route)
    _method(kms, name)(**params)  # the same request without DryRun succeeds


@pytest.mark.parametrize("name", DRY_RUN_OPERATIONS)
def test_dry_run_reports_what_the_request_would_get(lab, kms, keys, name):
    """A DryRun on a disabled key gets the key-state table's answer, as the request would."""
    params = _requests(kms, keys)[name]
    key = (params.get("KeyId") or params.get("DestinationKeyId") or keys["sym"]).rsplit("/", 1)[-1]
    kms.disable_key(KeyId=key)
    if name in ("RetireGrant", "RevokeGrant"):  # AWS's table allows them on a disabled key
        with pytest.raises(errors.DryRunOperationException):
            _method(kms, name)(**params, DryRun=True)
    else:
        with pytest.raises(errors.DisabledException):
            _method(kms, name)(**params, DryRun=True)


def test_dry_run_reports_the_operations_own_checks(kms, keys):
    with pytest.raises(errors.ValidationException, match="not valid for a KMS key"):
        kms.create_grant(KeyId=keys["sym"], GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/admin",
                         Operations=["Sign"], DryRun=True)
    with pytest.raises(errors.InvalidKeyUsageException):
        kms.sign(KeyId=keys["hmac"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256", DryRun=True)
    with pytest.raises(errors.ValidationException, match="cannot encrypt data larger than 190 bytes"):
        kms.encrypt(KeyId=keys["rsa"], Plaintext=b"x" * 300, EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                    DryRun=True)
    with pytest.raises(errors.NotFoundException):
        kms.revoke_grant(KeyId=keys["sym"], GrantId="1" * 64, DryRun=True)


def test_dry_run_is_denied_like_the_request(lab, kms, keys):
    lab.add_user("eve")
    eve = lab.client(as_="eve")
    with pytest.raises(errors.AccessDeniedException):
        eve.encrypt(KeyId=keys["sym"], Plaintext=b"x", DryRun=True)


def test_decrypt_dry_run_may_ignore_the_ciphertext(kms, keys):
    with pytest.raises(errors.DryRunOperationException):
        kms.decrypt(KeyId=keys["sym"], DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    with pytest.raises(errors.ValidationException, match="KeyId is required"):
        kms.decrypt(DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    with pytest.raises(errors.ValidationException, match="ciphertextBlob"):
        kms.decrypt(KeyId=keys["sym"])
    with pytest.raises(errors.ValidationException, match="ciphertextBlob"):
        kms.re_encrypt(DestinationKeyId=keys["sym"])  # a KMS error, never a Python one


# ------------------------------------------------------------------ the key a ciphertext names
def test_the_key_a_ciphertext_names_is_authorized_like_any_key(lab, kms, keys):
    blob = kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")["CiphertextBlob"]
    lab.add_user("eve")
    eve = lab.client(as_="eve")
    with pytest.raises(errors.AccessDeniedException):
        eve.decrypt(CiphertextBlob=blob)
    record = lab.audit.records()[-1]
    assert record["errorCode"] == "AccessDenied"
    assert record["resources"][0]["ARN"].endswith(keys["sym"])  # the pipeline found the key


def test_the_key_a_ciphertext_names_is_checked_against_the_key_state_table(kms, keys):
    blob = kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=keys["sym"])
    with pytest.raises(errors.DisabledException):
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(errors.DisabledException):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=keys["rsa"],
                       DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    kms.enable_key(KeyId=keys["sym"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_a_key_id_naming_another_key_is_incorrect(lab, kms, keys):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(errors.IncorrectKeyException):
        kms.decrypt(CiphertextBlob=blob, KeyId=other)
    assert lab.audit.records()[-1]["resources"][0]["ARN"].endswith(other)
    assert kms.decrypt(CiphertextBlob=blob, KeyId=keys["sym"])["Plaintext"] == b"x"


# ------------------------------------------------------------------ backing keys
def _blob_naming(lab, key_id: str) -> bytes:
    """A well-formed symmetric blob whose header names ``key_id`` and its key material."""
    key = lab.kms_service(ACCOUNT, "us-east-1").keys[key_id]
    return SymmetricMaterial.generate().seal(key.arn, key.versions[0].material_id, b"secret")


@pytest.mark.parametrize("kind, error, says", [
    ("hmac", errors.InvalidKeyUsageException, "key usage is GENERATE_VERIFY_MAC which is not valid for Decrypt"),
    ("sign", errors.InvalidKeyUsageException, "key usage is SIGN_VERIFY which is not valid for Decrypt"),
    ("agree", errors.InvalidKeyUsageException, "key usage is KEY_AGREEMENT which is not valid for Decrypt"),
    ("rsa", errors.InvalidKeyUsageException, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048"),
])
def test_a_ciphertext_naming_a_key_of_another_usage_is_refused_cleanly(lab, kms, keys, kind,
                                                                       error, says):
    blob = _blob_naming(lab, keys[kind])
    with pytest.raises(error) as exc:
        kms.decrypt(CiphertextBlob=blob)
    assert says in exc.value.message
    assert "b'" not in exc.value.message and "\\x" not in exc.value.message
    with pytest.raises((errors.InvalidKeyUsageException, errors.InvalidCiphertextException)):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=keys["sym"])


def test_a_ciphertext_under_unknown_material_of_a_symmetric_key_is_invalid(lab, kms, keys):
    with pytest.raises(errors.InvalidCiphertextException) as exc:
        kms.decrypt(CiphertextBlob=_blob_naming(lab, keys["sym"]))  # the right header, other key
    assert "b'" not in exc.value.message


def test_material_of_the_wrong_kind_is_refused_not_used(lab, kms, keys):
    """Even a key record whose material does not fit its usage fails with a KMS error."""
    from kmslab.crypto.factory import generate_material
    key = lab.kms_service(ACCOUNT, "us-east-1").keys[keys["sym"]]
    key.current.material = generate_material("HMAC_256")
    with pytest.raises(errors.InvalidKeyUsageException, match="SealingKey"):
        kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")


def test_every_backing_key_declares_its_interface():
    from kmslab.crypto.asymmetric import AsymmetricMaterial
    from kmslab.crypto.mac import HmacMaterial
    from kmslab.service.keystores import CloudHsmKeyMaterial, ExternalKeyMaterial
    for cls in (SymmetricMaterial, CloudHsmKeyMaterial, ExternalKeyMaterial):
        assert issubclass(cls, backing.SealingKey)
        assert not issubclass(cls, backing.PublicKeyHolder)
    assert issubclass(HmacMaterial, backing.MacKey) and not issubclass(HmacMaterial, backing.SealingKey)
    for interface in (backing.AsymmetricEncryptionKey, backing.SigningKey, backing.KeyAgreementKey,
                      backing.KemKey):
        assert issubclass(AsymmetricMaterial, interface)
    assert backing.interface_for("ENCRYPT_DECRYPT", True) is backing.SealingKey
    assert backing.interface_for("ENCRYPT_DECRYPT", False) is backing.AsymmetricEncryptionKey
    assert backing.interface_for("GENERATE_VERIFY_MAC", True) is backing.MacKey


def test_an_implementation_that_misses_a_method_is_refused_when_defined():
    with pytest.raises(TypeError, match="open"):
        class HalfKey(backing.SealingKey):  # noqa: F841
            def seal(self, key_arn, material_id, plaintext, context=None):
                return b""


def test_keys_in_custom_key_stores_seal_and_open_through_the_interface(lab, kms, cloudhsm_store):
    store = cloudhsm_store
    key_id = kms.create_key(CustomKeyStoreId=store)["KeyMetadata"]["KeyId"]
    key = lab.kms_service(ACCOUNT, "us-east-1").keys[key_id]
    assert isinstance(key.current.material, backing.SealingKey)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"hsm", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hsm"


# ------------------------------------------------------------------ handlers report, never write
def _writes_into_the_call(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "call":
                    found.append(f"{path.name}:{node.lineno}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend") \
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "extra_keys":
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_handlers_report_an_outcome_and_never_write_into_the_call():
    service = ROOT / "service"
    writes = {p.name: _writes_into_the_call(p) for p in service.glob("*.py") if p.name != "pipeline.py"}
    assert {p: w for p, w in writes.items() if w} == {}
    assert _writes_into_the_call(service / "pipeline.py")  # the pipeline is the one writer


def test_an_outcome_reaches_the_audit(lab, kms, keys):
    out = kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")
    record = lab.audit.records()[-1]
    key = lab.kms_service(ACCOUNT, "us-east-1").keys[keys["sym"]]
    assert record["additionalEventData"] == {"keyMaterialId": key.current.material_id}
    assert "KeyMaterialId" not in out  # not in Encrypt's response: only the audit has it
    created = kms.create_key()["KeyMetadata"]
    assert lab.audit.records()[-1]["resources"][0]["ARN"] == created["Arn"]


def test_outcome_is_the_handler_contract():
    out = registry.Outcome({"KeyId": "k"}, material_id="m")
    assert (out.response, out.key, out.material_id, out.other_keys) == ({"KeyId": "k"}, None, "m", ())
    with pytest.raises(KeyError):
        registry.operation("NotAnOperation")
    with pytest.raises(TypeError, match="locate"):
        registry.operation("DeleteAlias")
