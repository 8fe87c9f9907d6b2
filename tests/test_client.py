"""The boto3-shaped client: names, signatures, docstrings, errors, threads."""

import inspect
import threading

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

import kmslab
from kmslab import errors
from kmslab.service.registry import OPERATIONS

MODEL = botocore.session.get_session().get_service_model("kms")


def test_methods_have_boto3_names_real_signatures_and_docs(kms):
    for op in OPERATIONS:
        method = getattr(kms, xform_name(op))
        sig = inspect.signature(method)
        shape = MODEL.operation_model(op).input_shape
        assert list(sig.parameters) == list(shape.members if shape else [])
        for name in (shape.required_members if shape else []):
            assert sig.parameters[name].default is inspect.Parameter.empty
        assert method.__doc__ and len(method.__doc__) > 40


def test_errors_are_client_errors_like_boto3(kms):
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId="alias/nope")
    err = exc.value
    assert err.response["Error"]["Code"] == "NotFoundException"
    assert "alias/nope" in err.response["Error"]["Message"]
    assert err.response["ResponseMetadata"]["RequestId"]
    assert err.operation_name == "DescribeKey"
    assert isinstance(err, kms.exceptions.NotFoundException)
    assert str(err).startswith("An error occurred (NotFoundException) when calling the DescribeKey operation")


def test_exceptions_are_the_ones_boto3_builds(kms):
    real = botocore.session.get_session().create_client(
        "kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    modeled = set(real.exceptions._code_to_exception)
    ours = {name for name in vars(kms.exceptions) if name[0].isupper()} - {"ClientError"}
    assert ours == modeled
    assert not hasattr(kms.exceptions, "AccessDeniedException")
    assert kms.exceptions.from_code("NotFoundException") is kms.exceptions.NotFoundException
    assert kms.exceptions.from_code("AccessDeniedException") is kms.exceptions.ClientError


def test_an_unmodeled_error_is_caught_as_client_error_by_its_code(lab):
    lab.client("iam").create_user(UserName="nobody")
    kms = lab.client(as_="nobody")
    with pytest.raises(kms.exceptions.ClientError) as exc:
        kms.create_key()
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


def test_every_model_error_has_a_class():
    for shape in MODEL.error_shapes:
        cls = getattr(errors, shape.name)
        assert issubclass(cls, errors.KMSError) and cls.code == shape.name


def test_unknown_parameter_is_a_validation_error(kms):
    with pytest.raises(errors.ValidationException):
        kms.describe_key(KeyId="x", Bogus=1)


def test_missing_required_parameter(kms):
    with pytest.raises(errors.ValidationException, match="Member must not be null"):
        kms.encrypt(Plaintext=b"x")


def test_wrong_type_is_a_validation_error(kms, key_id):
    with pytest.raises(errors.ValidationException):
        kms.encrypt(KeyId=key_id, Plaintext=12)


def test_default_client_and_module_client():
    kms = kmslab.client()
    assert kms.meta.region_name == "us-east-1"
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kmslab.default_lab().client().describe_key(KeyId=key)


def test_response_metadata(kms):
    meta = kms.list_keys()["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200 and len(meta["RequestId"]) == 36


def test_seeded_labs_give_the_same_ids():
    a, b = kmslab.Lab(seed=42), kmslab.Lab(seed=42)
    ids_a = [a.client().create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
    ids_b = [b.client().create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
    assert ids_a == ids_b
    assert kmslab.Lab(seed=43).client().create_key()["KeyMetadata"]["KeyId"] != ids_a[0]


def test_seed_never_makes_key_material_predictable():
    blobs = []
    for _ in range(2):
        kms = kmslab.Lab(seed=5).client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
        blobs.append(dk["Plaintext"])
        other = kmslab.Lab(seed=5).client()
        other.create_key()
        with pytest.raises(errors.InvalidCiphertextException):
            other.decrypt(CiphertextBlob=dk["CiphertextBlob"])
    assert blobs[0] != blobs[1]


def test_threads_do_not_lose_updates(lab):
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    created: list[str] = []
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            client = lab.client()
            for i in range(40):
                created.append(client.create_key()["KeyMetadata"]["KeyId"])
                blob = client.encrypt(KeyId=key, Plaintext=b"%d-%d" % (n, i))["CiphertextBlob"]
                assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"%d-%d" % (n, i)
                client.tag_resource(KeyId=key, Tags=[{"TagKey": f"t{n}-{i % 5}", "TagValue": "v"}])
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(lab.audit) == 1 + 8 * 40 * 4
    listed = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert set(created) <= listed and len(listed) == 8 * 40 + 1
    assert len(kms.list_resource_tags(KeyId=key, Limit=50)["Tags"]) == 40
