"""kmslab.envelope and the AWS Encryption SDK for Python read each other's messages.

Both sides talk to the same kmslab KMS through a real botocore client (served in-process,
or over HTTP by kmslab's server); the SDK uses its KMS master key provider, as an
application against AWS KMS would.
"""

from __future__ import annotations

import io
import os

import boto3
import pytest
from botocore.config import Config
from cryptography.exceptions import InvalidSignature

import kmslab
from kmslab import envelope
from kmslab.interop import boto3_client
from kmslab.interop.server import ServerThread

esdk = pytest.importorskip("aws_encryption_sdk")
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError  # noqa: E402
from aws_encryption_sdk.key_providers.kms import (  # noqa: E402
    KMSMasterKey,
    KMSMasterKeyConfig,
    StrictAwsKmsMasterKeyProvider,
)

MESSAGE = b"The Encryption SDK wraps this data key with a kmslab key." * 40
CONTEXT = {"purpose": "interop", "course": "kms-101"}
FRAME = 4096  # the SDK's default frame length: several frames at a few KiB
SIZES = [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME + 5]
SUITES = [envelope.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
          envelope.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY]
SUITE_IDS = ["signed", "unsigned"]


def sdk_algorithm(suite):
    return getattr(esdk.Algorithm, suite.name)


def sdk_provider(kms, key_arns):
    """The SDK's strict KMS master key provider, with ``kms`` as its client in every Region."""
    class LabProvider(StrictAwsKmsMasterKeyProvider):
        def add_regional_client(self, region_name):
            self._regional_clients.setdefault(region_name, kms)

    return LabProvider(key_ids=list(key_arns))


@pytest.fixture(scope="module")
def world():
    lab = kmslab.Lab(seed=4)
    kms = boto3_client(lab)
    arns = [kms.create_key(Description=f"wrapping key {i}")["KeyMetadata"]["Arn"]
            for i in range(3)]
    client = esdk.EncryptionSDKClient(
        commitment_policy=esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    return kms, arns, client


def _sdk_cache_cmm(provider):
    return esdk.CachingCryptoMaterialsManager(
        master_key_provider=provider, cache=esdk.LocalCryptoMaterialsCache(capacity=10),
        max_age=600.0, max_messages_encrypted=100)


# -- kmslab writes, the SDK reads -----------------------------------------------------

@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("wrapping", [1, 3])
@pytest.mark.parametrize("context", [None, CONTEXT], ids=["no-context", "context"])
def test_the_sdk_decrypts_kmslab_messages(world, suite, size, wrapping, context):
    kms, arns, client = world
    plaintext = os.urandom(size)
    message = bytes(envelope.encrypt(kms, plaintext, arns[:wrapping], context, algorithm=suite,
                                     frame_length=FRAME))
    # any one of the wrapping keys is enough for the SDK's strict provider
    for arn in arns[:wrapping]:
        decrypted, header = client.decrypt(source=message, key_provider=sdk_provider(kms, [arn]))
        assert decrypted == plaintext
    assert header.algorithm == sdk_algorithm(suite)
    assert {k: v for k, v in header.encryption_context.items()
            if k != "aws-crypto-public-key"} == (context or {})
    assert ("aws-crypto-public-key" in header.encryption_context) == suite.signed
    assert sorted(k.key_provider.key_info for k in header.encrypted_data_keys) == \
        sorted(a.encode() for a in arns[:wrapping])
    assert {k.key_provider.provider_id for k in header.encrypted_data_keys} == {"aws-kms"}


@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
def test_the_sdk_decrypts_kmslab_messages_made_from_a_cached_data_key(world, suite):
    kms, arns, client = world
    cache = envelope.DataKeyCache(max_age=60)
    messages = [bytes(envelope.encrypt(kms, b"record %d" % i * 500, arns[:2], CONTEXT,
                                       algorithm=suite, frame_length=FRAME, cache=cache))
                for i in range(3)]
    assert cache.encrypt_hits == 2
    provider = sdk_provider(kms, [arns[1]])
    for cmm in (None, _sdk_cache_cmm(provider)):
        options = {"materials_manager": cmm} if cmm else {"key_provider": provider}
        assert [client.decrypt(source=m, **options)[0] for m in messages] == \
            [b"record %d" % i * 500 for i in range(3)]


@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
def test_the_sdk_streams_a_kmslab_stream_with_default_frames(world, suite):
    kms, arns, client = world
    plaintext = os.urandom((1 << 20) + 17)  # two of kmslab's 1 MiB frames
    sink = io.BytesIO()
    envelope.encrypt_stream(kms, io.BytesIO(plaintext), sink, [arns[0]], CONTEXT, algorithm=suite)
    with client.stream(mode="d", source=io.BytesIO(sink.getvalue()),
                       key_provider=sdk_provider(kms, [arns[0]])) as decryptor:
        assert b"".join(decryptor) == plaintext


def test_the_sdk_refuses_a_tampered_kmslab_message(world):
    kms, arns, client = world
    message = bytearray(envelope.encrypt(kms, MESSAGE, [arns[0]], CONTEXT, frame_length=FRAME))
    message[-1] ^= 1  # the signature
    with pytest.raises(InvalidSignature):
        client.decrypt(source=bytes(message), key_provider=sdk_provider(kms, [arns[0]]))


# -- the SDK writes, kmslab reads -----------------------------------------------------

@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("wrapping", [1, 3])
@pytest.mark.parametrize("context", [None, CONTEXT], ids=["no-context", "context"])
def test_kmslab_decrypts_sdk_messages(world, suite, size, wrapping, context):
    kms, arns, client = world
    plaintext = os.urandom(size)
    message, _ = client.encrypt(source=plaintext, key_provider=sdk_provider(kms, arns[:wrapping]),
                                encryption_context=context or {},
                                algorithm=sdk_algorithm(suite))
    info = envelope.parse(message)
    assert (info.suite_id, info.signed, info.frame_length) == (suite.value, suite.signed, FRAME)
    assert sorted(e.key_arn for e in info.encrypted_data_keys) == sorted(arns[:wrapping])
    assert info.plaintext_length == size
    for arn in arns[:wrapping]:
        assert envelope.decrypt(kms, message, context or {}, key_ids=[arn]) == plaintext
    out = io.BytesIO()
    assert envelope.decrypt_stream(kms, io.BytesIO(message), out, context) == size
    assert out.getvalue() == plaintext


@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
def test_kmslab_decrypts_sdk_messages_made_from_its_cache_with_its_own_cache(world, suite):
    kms, arns, client = world
    cmm = _sdk_cache_cmm(sdk_provider(kms, arns[:2]))
    messages = [client.encrypt(source=b"row %d" % i, materials_manager=cmm,
                               encryption_context=CONTEXT, algorithm=sdk_algorithm(suite))[0]
                for i in range(3)]
    assert len({envelope.parse(m).encrypted_data_keys for m in messages}) == 1  # one data key
    cache = envelope.DataKeyCache(max_age=60)
    assert [envelope.decrypt(kms, m, CONTEXT, cache=cache) for m in messages] == \
        [b"row 0", b"row 1", b"row 2"]
    assert (cache.decrypt_misses, cache.decrypt_hits) == (1, 2)


def test_kmslab_reads_the_sdk_non_framed_content(world):
    kms, arns, client = world
    message, _ = client.encrypt(source=MESSAGE, key_provider=sdk_provider(kms, arns[:1]),
                                frame_length=0, encryption_context=CONTEXT)
    info = envelope.parse(message)
    assert info.content_type == "non-framed" and info.frame_length == 0
    assert [(f.kind, f.plaintext_length) for f in info.frames] == [("single", len(MESSAGE))]
    assert envelope.decrypt(kms, message, CONTEXT) == MESSAGE
    out = io.BytesIO()
    envelope.decrypt_stream(kms, io.BytesIO(message), out, CONTEXT)
    assert out.getvalue() == MESSAGE
    broken = bytearray(message)
    broken[info.frames[0].offset + 40] ^= 1
    with pytest.raises(envelope.FrameAuthenticationError, match="non-framed body"):
        envelope.decrypt(kms, broken, CONTEXT)


def test_kmslab_names_what_was_tampered_in_an_sdk_message(world):
    kms, arns, client = world
    message, _ = client.encrypt(source=MESSAGE, key_provider=sdk_provider(kms, arns[:1]),
                                encryption_context=CONTEXT, frame_length=1024)
    info = envelope.parse(message)
    cases = {
        "frame length": (info.header_length - 16 - 32 - 2, envelope.HeaderAuthenticationError),
        "header tag": (info.header_length - 5, envelope.HeaderAuthenticationError),
        "commitment": (info.header_length - 40, envelope.KeyCommitmentError),
        "frame": (info.frames[1].offset + 30, envelope.FrameAuthenticationError),
        "signature": (len(message) - 10, envelope.SignatureVerificationError),
    }
    for position, error in cases.values():
        broken = bytearray(message)
        broken[position] ^= 1
        with pytest.raises(error):
            envelope.decrypt(kms, broken, CONTEXT)
    with pytest.raises(envelope.TruncatedMessageError):
        envelope.decrypt(kms, message[:info.frames[-1].offset], CONTEXT)
    with pytest.raises(envelope.ContextMismatchError):
        envelope.decrypt(kms, message, {"purpose": "interop"})


def test_the_sdk_and_kmslab_agree_on_the_reserved_context_key(world):
    kms, arns, client = world
    with pytest.raises(ValueError, match="reserved"):
        envelope.encrypt(kms, b"x", arns[:1], {"aws-crypto-public-key": "mine"})
    # a message of the signing suite without its public key: both refuse it
    unsigned = bytes(envelope.encrypt(kms, b"x", arns[:1], algorithm=SUITES[1]))
    relabelled = b"\x02\x05\x78" + unsigned[3:]
    with pytest.raises(AWSEncryptionSDKClientError):
        client.decrypt(source=relabelled, key_provider=sdk_provider(kms, arns[:1]))
    with pytest.raises(envelope.MalformedMessageError, match="aws-crypto-public-key"):
        envelope.decrypt(kms, relabelled)


# -- over the wire: kmslab's HTTP server ------------------------------------------------

def _round_trip_both_ways(kms):
    key_arn = kms.create_key(Description="ESDK wrapping key")["KeyMetadata"]["Arn"]
    master_key = KMSMasterKey(config=KMSMasterKeyConfig(key_id=key_arn, client=kms))
    client = esdk.EncryptionSDKClient(
        commitment_policy=esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    ciphertext, header = client.encrypt(source=MESSAGE, key_provider=master_key,
                                        encryption_context=CONTEXT)
    assert MESSAGE not in ciphertext
    assert [k.key_provider.key_info for k in header.encrypted_data_keys] == [key_arn.encode()]
    assert envelope.decrypt(kms, ciphertext, CONTEXT) == MESSAGE
    mine = bytes(envelope.encrypt(kms, MESSAGE, [key_arn], CONTEXT))
    plaintext, decrypt_header = client.decrypt(source=mine, key_provider=master_key)
    assert plaintext == MESSAGE
    assert CONTEXT.items() <= decrypt_header.encryption_context.items()
    # the wrapped data key is a kmslab ciphertext: kmslab itself decrypts it
    edk = header.encrypted_data_keys.pop()
    data_key = kms.decrypt(CiphertextBlob=edk.encrypted_data_key,
                           EncryptionContext=header.encryption_context)["Plaintext"]
    assert len(data_key) == 32


def test_in_process_client():
    _round_trip_both_ways(boto3_client(kmslab.Lab(seed=4)))


def test_over_http():
    with ServerThread(kmslab.Lab(seed=4), accept_any_signature=True) as url:
        _round_trip_both_ways(boto3.session.Session().client(
            "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAANY",
            aws_secret_access_key="any", config=Config(retries={"total_max_attempts": 1})))


def test_the_envelope_explorer_takes_apart_an_sdk_message(world):
    from kmslab.widgets import EnvelopeExplorer
    kms, arns, client = world
    message, _ = client.encrypt(source=MESSAGE, key_provider=sdk_provider(kms, arns[:2]),
                                encryption_context=CONTEXT)
    explorer = EnvelopeExplorer(kms)
    assert explorer.show_message(message)
    shown = explorer.steps[2].value
    assert "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384" in shown
    assert arns[0] in shown and arns[1] in shown and "4,096 bytes" in shown
