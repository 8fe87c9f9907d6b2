"""Every registered KMS operation through real botocore: in-process and over HTTP, same results.

The scenario drives each operation kmslab implements (``OPERATIONS``) with
boto3; which operations it reached is read from botocore's own
``before-call`` event, so an operation registered later and not yet in the
scenario is still called (with parameters made from the service model) and
compared. The two runs start from labs with the same seed; random bytes
(ciphertexts, keys, signatures) are compared by type, everything else
(ids, ARNs, states, dates, error codes) exactly.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

import kmslab
from kmslab.interop import boto3_client
from kmslab.interop.server import ServerThread
from kmslab.service.registry import OPERATIONS

SEED = 29
ACCOUNT = "111122223333"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
#: the same material in both runs: its KeyMaterialId derives from it
IMPORTED_MATERIAL = bytes(range(32))
#: strings made from os.urandom, not from the lab's seed
RANDOM_STRINGS = {"GrantToken", "TrustAnchorCertificate"}


def normalise(value):
    """Random bytes become their type; response metadata (headers, dates of the wire) goes."""
    if isinstance(value, dict):
        return {k: "<random>" if k in RANDOM_STRINGS else normalise(v)
                for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "<bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Recorder:
    """Calls operations, keeps what each returned (normalised) or its error code."""

    def __init__(self, kms):
        self.kms = kms
        self.called: set[str] = set()
        self.seen: list[tuple[str, object]] = []
        kms.meta.events.register("before-call.kms", self._note)

    def _note(self, model, **_):
        self.called.add(model.name)

    def __call__(self, method: str, **params):
        try:
            out = getattr(self.kms, method)(**params)
        except ClientError as err:
            self.seen.append((method, err.response["Error"]["Code"]))
            return None
        self.seen.append((method, normalise(out)))
        return out


def scenario(kms, world: dict) -> Recorder:
    """``world``: ``advance(seconds)`` moves the lab's clock; ``cluster_id`` and
    ``trust_anchor`` name a CloudHSM cluster made beforehand."""
    call = Recorder(kms)
    advance = world["advance"]
    # ---- keys, metadata, tags, aliases
    key = call("create_key", Description="every op", Tags=[{"TagKey": "team", "TagValue": "blue"}])
    key_id = key["KeyMetadata"]["KeyId"]
    call("describe_key", KeyId=key_id)
    call("list_keys")
    call("update_key_description", KeyId=key_id, Description="renamed")
    call("tag_resource", KeyId=key_id, Tags=[{"TagKey": "stage", "TagValue": "test"}])
    call("list_resource_tags", KeyId=key_id)
    call("untag_resource", KeyId=key_id, TagKeys=["stage"])
    call("create_alias", AliasName="alias/every", TargetKeyId=key_id)
    other = call("create_key")["KeyMetadata"]["KeyId"]
    call("update_alias", AliasName="alias/every", TargetKeyId=other)
    call("list_aliases", KeyId=other)
    call("delete_alias", AliasName="alias/every")
    call("describe_key", KeyId="alias/every")  # NotFoundException now
    # ---- symmetric cryptography
    blob = call("encrypt", KeyId=key_id, Plaintext=b"every operation",
                EncryptionContext={"purpose": "test"})["CiphertextBlob"]
    call("decrypt", CiphertextBlob=blob, EncryptionContext={"purpose": "test"})
    call("decrypt", CiphertextBlob=blob)  # InvalidCiphertextException: context missing
    moved = call("re_encrypt", CiphertextBlob=blob, SourceEncryptionContext={"purpose": "test"},
                 DestinationKeyId=other)["CiphertextBlob"]
    call("decrypt", CiphertextBlob=moved)
    call("generate_data_key", KeyId=key_id, KeySpec="AES_256")
    call("generate_data_key_without_plaintext", KeyId=key_id, NumberOfBytes=24)
    call("generate_data_key_pair", KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    call("generate_data_key_pair_without_plaintext", KeyId=key_id, KeyPairSpec="RSA_2048")
    call("generate_random", NumberOfBytes=16)
    # ---- HMAC
    hmac_key = call("create_key", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    hmac_id = hmac_key["KeyMetadata"]["KeyId"]
    mac = call("generate_mac", KeyId=hmac_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    call("verify_mac", KeyId=hmac_id, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    call("verify_mac", KeyId=hmac_id, Message=b"n", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    # ---- signing
    signer = call("create_key", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signature = call("sign", KeyId=signer, Message=b"doc",
                     SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    call("verify", KeyId=signer, Message=b"doc", Signature=signature,
         SigningAlgorithm="RSASSA_PSS_SHA_256")
    call("verify", KeyId=signer, Message=b"forged", Signature=signature,
         SigningAlgorithm="RSASSA_PSS_SHA_256")  # KMSInvalidSignatureException
    call("get_public_key", KeyId=signer)
    # ---- key agreement and ML-KEM
    agree = call("create_key", KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
    peer = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    call("derive_shared_secret", KeyId=agree["KeyMetadata"]["KeyId"],
         KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    kem = call("create_key", KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE")
    kem_id = kem["KeyMetadata"]["KeyId"]
    sealed = call("encapsulate", KeyId=kem_id, EncapsulationAlgorithm="ML_KEM")
    call("decapsulate", KeyId=kem_id, EncapsulationAlgorithm="ML_KEM",
         SharedSecretCiphertextBlob=sealed["SharedSecretCiphertextBlob"])
    # ---- policies and grants
    policy = call("get_key_policy", KeyId=key_id, PolicyName="default")["Policy"]
    call("list_key_policies", KeyId=key_id)
    doc = json.loads(policy)
    doc["Statement"][0]["Sid"] = "Admin"
    call("put_key_policy", KeyId=key_id, PolicyName="default", Policy=json.dumps(doc))
    call("get_key_policy", KeyId=key_id)
    grant = call("create_grant", KeyId=key_id, GranteePrincipal=ADMIN, RetiringPrincipal=ADMIN,
                 Operations=["Encrypt", "Decrypt"], Name="every")
    call("list_grants", KeyId=key_id)
    call("list_retirable_grants", RetiringPrincipal=ADMIN)
    call("retire_grant", KeyId=key_id, GrantId=grant["GrantId"])
    second = call("create_grant", KeyId=key_id, GranteePrincipal=ADMIN, Operations=["Encrypt"])
    call("revoke_grant", KeyId=key_id, GrantId=second["GrantId"])
    call("list_grants", KeyId=key_id)
    # ---- rotation and usage
    call("enable_key_rotation", KeyId=key_id, RotationPeriodInDays=90)
    call("get_key_rotation_status", KeyId=key_id)
    call("rotate_key_on_demand", KeyId=key_id)
    call("list_key_rotations", KeyId=key_id)
    call("disable_key_rotation", KeyId=key_id)
    call("get_key_last_usage", KeyId=key_id)
    # ---- states and deletion
    call("disable_key", KeyId=key_id)
    call("encrypt", KeyId=key_id, Plaintext=b"x")  # DisabledException
    call("enable_key", KeyId=key_id)
    call("schedule_key_deletion", KeyId=other, PendingWindowInDays=7)
    call("cancel_key_deletion", KeyId=other)
    call("describe_key", KeyId=other)
    # ---- key material import
    external = call("create_key", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = call("get_parameters_for_import", KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                  WrappingKeySpec="RSA_2048")
    wrapping = serialization.load_der_public_key(params["PublicKey"])
    wrapped = wrapping.encrypt(IMPORTED_MATERIAL, padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    call("import_key_material", KeyId=external, ImportToken=params["ImportToken"],
         EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    call("encrypt", KeyId=external, Plaintext=b"imported")
    call("delete_imported_key_material", KeyId=external)
    call("describe_key", KeyId=external)
    # ---- multi-Region keys
    primary = call("create_key", MultiRegion=True)["KeyMetadata"]["KeyId"]
    call("replicate_key", KeyId=primary, ReplicaRegion="us-west-2")
    advance(10)
    call("update_primary_region", KeyId=primary, PrimaryRegion="us-west-2")
    advance(10)
    call("describe_key", KeyId=primary)
    # ---- custom key stores (CloudHSM)
    store = call("create_custom_key_store", CustomKeyStoreName="every-op-store",
                 CloudHsmClusterId=world["cluster_id"], KeyStorePassword="kmsPswd1",
                 TrustAnchorCertificate=world["trust_anchor"])["CustomKeyStoreId"]
    call("connect_custom_key_store", CustomKeyStoreId=store)
    advance(300)
    call("describe_custom_key_stores", CustomKeyStoreId=store)
    call("disconnect_custom_key_store", CustomKeyStoreId=store)
    call("update_custom_key_store", CustomKeyStoreId=store, NewCustomKeyStoreName="renamed")
    call("describe_custom_key_stores", CustomKeyStoreName="renamed")
    call("delete_custom_key_store", CustomKeyStoreId=store)
    # ---- operations registered after this scenario was written
    for operation in sorted(set(OPERATIONS) - call.called):
        call(_method(kms, operation), **_model_params(operation, key_id))
    return call


def _method(kms, operation: str) -> str:
    return next(m for m, op in kms.meta.method_to_api_mapping.items() if op == operation)


def _model_params(operation: str, key_id: str) -> dict:
    """Required parameters from the service model: the symmetric key for key ids, else minimal."""
    shape = botocore.session.get_session().get_service_model("kms").operation_model(operation)
    params = {}
    for name in shape.input_shape.required_members if shape.input_shape else ():
        member = shape.input_shape.members[name]
        if name in ("KeyId", "TargetKeyId", "DestinationKeyId"):
            params[name] = key_id
        elif member.enum:
            params[name] = member.enum[0]
        else:
            params[name] = {"string": "kmslab", "blob": b"kmslab", "integer": 1, "long": 1,
                            "boolean": False, "list": [], "map": {}, "structure": {}
                            }[member.type_name]
    return params


def prepared_lab() -> tuple[kmslab.Lab, dict, dict]:
    """A lab with the admin's access key and a CloudHSM cluster; the scenario's world."""
    lab = kmslab.Lab(seed=SEED)
    access_key = lab.client("iam").create_access_key(UserName="admin")["AccessKey"]
    cluster_id = lab.create_cloudhsm_cluster()
    world = {"advance": lambda seconds: lab.clock.advance(seconds=seconds),
             "cluster_id": cluster_id,
             "trust_anchor": lab.cloudhsm.cluster(cluster_id).trust_anchor_certificate}
    return lab, access_key, world


def admin_advance(server: ServerThread):
    """Moves the served lab's clock through the admin endpoint, as a test harness would."""
    def advance(seconds: float) -> None:
        request = urllib.request.Request(
            server.url + "/_kmslab/clock/advance", method="POST",
            data=json.dumps({"seconds": seconds}).encode(),
            headers={"Authorization": f"Bearer {server.admin_token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    return advance


@pytest.fixture(scope="module")
def runs():
    in_process_lab, _, world = prepared_lab()
    in_process = scenario(boto3_client(in_process_lab), world)
    http_lab, access_key, world = prepared_lab()
    server = ServerThread(http_lab)
    with server as url:
        kms = boto3.session.Session().client(
            "kms", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id=access_key["AccessKeyId"],
            aws_secret_access_key=access_key["SecretAccessKey"], config=NO_RETRY)
        over_http = scenario(kms, {**world, "advance": admin_advance(server)})
    return in_process, over_http


def test_every_registered_operation_is_called(runs):
    in_process, over_http = runs
    assert set(OPERATIONS) <= in_process.called
    assert in_process.called == over_http.called


def test_in_process_and_http_results_are_identical(runs):
    in_process, over_http = runs
    assert len(in_process.seen) == len(over_http.seen)
    for mine, theirs in zip(in_process.seen, over_http.seen, strict=True):
        assert mine == theirs


def test_the_scenario_fails_only_where_aws_would(runs):
    in_process, _ = runs
    errors = [(method, out) for method, out in in_process.seen if isinstance(out, str)]
    assert errors == [("describe_key", "NotFoundException"),
                      ("decrypt", "InvalidCiphertextException"),
                      ("verify_mac", "KMSInvalidMacException"),
                      ("verify", "KMSInvalidSignatureException"),
                      ("encrypt", "DisabledException")]


def test_an_operation_missing_from_the_scenario_is_still_called(monkeypatch):
    """A newly registered operation is driven with model-made parameters."""
    lab, _, world = prepared_lab()
    monkeypatch.setattr(Recorder, "__call__", _skip_generate_random(Recorder.__call__))
    run = scenario(boto3_client(lab), world)
    assert "GenerateRandom" in run.called
    assert run.seen[-1][0] == "generate_random"  # called last, by the model-driven loop


def _skip_generate_random(real):
    def call(self, method, **params):
        if method == "generate_random" and params:  # the scenario's own call
            return None
        return real(self, method, **params)
    return call
