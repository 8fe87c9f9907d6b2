"""The AWS Encryption SDK for Python encrypts and decrypts with kmslab's data keys."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

import kmslab
from kmslab.interop import boto3_client
from kmslab.interop.server import ServerThread

esdk = pytest.importorskip("aws_encryption_sdk")
from aws_encryption_sdk.key_providers.kms import KMSMasterKey, KMSMasterKeyConfig  # noqa: E402

MESSAGE = b"The Encryption SDK wraps this data key with a kmslab key." * 40
CONTEXT = {"purpose": "interop", "course": "kms-101"}


def round_trip(kms) -> None:
    key_arn = kms.create_key(Description="ESDK wrapping key")["KeyMetadata"]["Arn"]
    master_key = KMSMasterKey(config=KMSMasterKeyConfig(key_id=key_arn, client=kms))
    client = esdk.EncryptionSDKClient(
        commitment_policy=esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    ciphertext, header = client.encrypt(source=MESSAGE, key_provider=master_key,
                                        encryption_context=CONTEXT)
    assert MESSAGE not in ciphertext
    assert [k.key_provider.key_info for k in header.encrypted_data_keys] == [key_arn.encode()]
    plaintext, decrypt_header = client.decrypt(source=ciphertext, key_provider=master_key)
    assert plaintext == MESSAGE
    assert CONTEXT.items() <= decrypt_header.encryption_context.items()
    # the wrapped data key is a kmslab ciphertext: kmslab itself decrypts it
    edk = header.encrypted_data_keys.pop()
    data_key = kms.decrypt(CiphertextBlob=edk.encrypted_data_key,
                           EncryptionContext=decrypt_header.encryption_context)["Plaintext"]
    assert len(data_key) == 32


def test_in_process_client():
    round_trip(boto3_client(kmslab.Lab(seed=4)))


def test_over_http():
    with ServerThread(kmslab.Lab(seed=4), accept_any_signature=True) as url:
        round_trip(boto3.session.Session().client(
            "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAANY",
            aws_secret_access_key="any", config=Config(retries={"total_max_attempts": 1})))
