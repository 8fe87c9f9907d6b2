"""A genuine botocore client served in-process by a (fake) lab."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from kmslab.identity import account_root
from kmslab.interop import boto3_client


@pytest.fixture
def kms(lab):
    return boto3_client(lab, region_name="us-east-1")


def test_is_a_real_botocore_client(kms):
    assert isinstance(kms, botocore.client.BaseClient)
    assert type(kms).__name__ == "KMS"
    assert kms.meta.region_name == "us-east-1"


def test_round_trip_with_bytes_and_datetimes(kms, lab):
    meta = kms.create_key(Description="demo")["KeyMetadata"]
    assert meta["Description"] == "demo"
    assert isinstance(meta["CreationDate"], datetime)
    assert meta["CreationDate"] == lab.clock.now()
    out = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"hello\x00world",
                      EncryptionContext={"purpose": "test"})
    assert isinstance(out["CiphertextBlob"], bytes)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["ResponseMetadata"]["RequestId"]
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"hello\x00world"
    operation, params, region, caller = lab.calls[1]
    assert (operation, region) == ("Encrypt", "us-east-1")
    assert params == {"KeyId": meta["KeyId"], "Plaintext": b"hello\x00world",
                      "EncryptionContext": {"purpose": "test"}}
    assert caller == account_root(lab.default_account)


def test_output_is_limited_to_the_model(kms):
    out = kms.create_key()
    assert "Unmodelled" not in out


def test_timestamp_input_reaches_the_lab_as_aware_datetime(kms, lab):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    valid_to = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    kms.import_key_material(KeyId=key_id, ImportToken=b"t", EncryptedKeyMaterial=b"m",
                            ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    assert lab.keys[("us-east-1", key_id)]["ValidTo"] == valid_to


def test_errors_are_client_errors(kms):
    with pytest.raises(kms.exceptions.NotFoundException) as caught:
        kms.describe_key(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")
    err = caught.value
    assert isinstance(err, ClientError)
    assert err.response["Error"]["Code"] == "NotFoundException"
    assert "does not exist" in err.response["Error"]["Message"]
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.operation_name == "DescribeKey"


def test_parameter_validation_happens_before_the_lab(kms, lab):
    with pytest.raises(ParamValidationError):
        kms.encrypt(KeyId="k")  # Plaintext missing
    with pytest.raises(ParamValidationError):
        kms.generate_data_key(KeyId="k", NumberOfBytes="32")
    assert lab.calls == []


def test_paginator_follows_markers(kms):
    created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)}
    pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert {k["KeyId"] for page in pages for k in page["Keys"]} == created


def test_region_is_the_clients(lab):
    eu = boto3_client(lab, region_name="eu-west-1")
    key_id = eu.create_key()["KeyMetadata"]["KeyId"]
    us = boto3_client(lab, region_name="us-east-1")
    with pytest.raises(us.exceptions.NotFoundException):
        us.describe_key(KeyId=key_id)


def test_as_selects_the_caller(lab):
    boto3_client(lab, as_=lab.alice).list_keys()
    assert lab.calls[-1][3] == lab.alice


def test_other_clients_are_untouched(lab):
    boto3_client(lab)
    plain = boto3.session.Session().client(
        "kms", region_name="us-east-1", aws_access_key_id="AKIA0000000000000000",
        aws_secret_access_key="x")
    seen = []
    plain.meta.events.register("before-send.kms", lambda request, **kw: seen.append(request)
                               or _canned())
    plain.list_keys()
    assert len(seen) == 1 and lab.calls == []


def _canned():
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **kw):
            yield b'{"Keys":[],"Truncated":false}'
    return AWSResponse("https://kms", 200, {"x-amzn-RequestId": "r"}, Raw())
