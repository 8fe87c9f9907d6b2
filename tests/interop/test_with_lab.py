"""The front ends on kmslab's real lab: in-process botocore and ``kmslab serve`` agree."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

import kmslab
from kmslab.interop import boto3_client
from kmslab.interop.server import ServerThread

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def scenario(kms) -> list:
    """A short learner script; returns what it observed, ids left out."""
    seen = []
    meta = kms.create_key(Description="scenario")["KeyMetadata"]
    key_id = meta["KeyId"]
    seen.append((meta["KeyState"], meta["KeySpec"], meta["KeyUsage"], meta["Description"]))
    kms.create_alias(AliasName="alias/scenario", TargetKeyId=key_id)
    ct = kms.encrypt(KeyId="alias/scenario", Plaintext=b"attack at dawn",
                     EncryptionContext={"team": "blue"})["CiphertextBlob"]
    out = kms.decrypt(CiphertextBlob=ct, EncryptionContext={"team": "blue"})
    seen.append((out["Plaintext"], out["KeyId"] == meta["Arn"], out["EncryptionAlgorithm"]))
    for bad_context in ({"team": "red"}, {}):
        try:
            kms.decrypt(CiphertextBlob=ct, EncryptionContext=bad_context)
        except kms.exceptions.ClientError as err:
            seen.append(err.response["Error"]["Code"])
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    seen.append((len(data_key["Plaintext"]),
                 kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
                 == data_key["Plaintext"]))
    kms.disable_key(KeyId=key_id)
    try:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    except kms.exceptions.DisabledException as err:
        seen.append((err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]))
    seen.append(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])
    kms.enable_key(KeyId=key_id)
    keys = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate(
        PaginationConfig={"PageSize": 1}) for k in page["Keys"]]
    seen.append(key_id in keys)
    seen.append([a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]])
    return seen


def test_in_process_client_on_the_lab():
    lab = kmslab.Lab(seed=3)
    seen = scenario(boto3_client(lab))
    assert seen[0] == ("Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "scenario")
    assert seen[1] == (b"attack at dawn", True, "SYMMETRIC_DEFAULT")
    assert seen[2:4] == ["InvalidCiphertextException", "InvalidCiphertextException"]
    assert ("DisabledException", 400) in seen and "Disabled" in seen


def test_in_process_matches_the_labs_own_client():
    ours = scenario(boto3_client(kmslab.Lab(seed=3)))
    assert ours == scenario(kmslab.Lab(seed=3).client())


def test_request_ids_come_from_the_lab():
    ids = [boto3_client(kmslab.Lab(seed=9)).list_keys()["ResponseMetadata"]["RequestId"]
           for _ in range(2)]
    assert ids[0] == ids[1]  # seeded: the same every run
    error_ids = []
    for _ in range(2):
        kms = boto3_client(kmslab.Lab(seed=9))
        with pytest.raises(kms.exceptions.NotFoundException) as caught:
            kms.describe_key(KeyId="alias/missing")
        error_ids.append(caught.value.response["ResponseMetadata"]["RequestId"])
    assert error_ids[0] == error_ids[1] == ids[0]


def test_caller_by_name():
    lab = kmslab.Lab()
    assert boto3_client(lab, as_="root").list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_http_matches_in_process():
    in_process = scenario(boto3_client(kmslab.Lab(seed=3)))
    with ServerThread(kmslab.Lab(seed=3), accept_any_signature=True) as url:
        kms = boto3.session.Session().client(
            "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAANY",
            aws_secret_access_key="any", config=NO_RETRY)
        assert scenario(kms) == in_process
