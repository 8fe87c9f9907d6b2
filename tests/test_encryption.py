"""Encrypt, Decrypt, ReEncrypt, data keys and GenerateRandom (symmetric keys)."""

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmslab
from kmslab import errors
from kmslab.crypto.symmetric import parse_blob

from shapes import check_response


def test_round_trip_and_response_shapes(kms, key_id):
    enc = check_response("Encrypt", kms.encrypt(KeyId=key_id, Plaintext=b"hello"))
    assert enc["KeyId"].endswith(key_id) and enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    dec = check_response("Decrypt", kms.decrypt(CiphertextBlob=enc["CiphertextBlob"]))
    assert dec["Plaintext"] == b"hello" and dec["KeyId"] == enc["KeyId"]
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert dec["KeyMaterialId"] == current


def test_blob_is_self_describing(kms, key_id):
    enc = kms.encrypt(KeyId=key_id, Plaintext=b"abc")
    parts = parse_blob(enc["CiphertextBlob"])
    assert parts.key_arn == enc["KeyId"]
    assert parts.key_material_id == kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert len(parts.nonce) == 12
    assert parts.describe()["encrypted data (bytes)"] == 3


def test_string_plaintext_is_encoded_like_boto3(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext="héllo")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == "héllo".encode()


@pytest.mark.parametrize("size", [1, 4096])
def test_size_limits_accepted(kms, key_id, size):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x" * size)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x" * size


@pytest.mark.parametrize("size", [0, 4097])
def test_size_limits_refused(kms, lab, key_id, size):
    n = len(lab.audit)
    with pytest.raises(errors.ValidationException) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x" * size)
    assert "'plaintext'" in exc.value.message
    assert "xxxx" not in exc.value.message  # the plaintext is never echoed
    assert len(lab.audit) == n + 1 and lab.audit.records()[-1]["errorCode"] == "ValidationException"


def test_encryption_context_is_bound_and_order_independent(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p",
                       EncryptionContext={"a": "1", "b": "2"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"b": "2", "a": "1"})["Plaintext"] == b"p"
    for wrong in (None, {}, {"a": "1"}, {"a": "1", "b": "3"}, {"A": "1", "b": "2"},
                  {"a": "1", "b": "2", "c": "3"}):
        with pytest.raises(errors.InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)


def test_decrypt_with_wrong_key_id_is_incorrect_key(kms, key_id):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    with pytest.raises(errors.IncorrectKeyException):
        kms.decrypt(CiphertextBlob=blob, KeyId=other)
    kms.create_alias(AliasName="alias/right", TargetKeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob, KeyId="alias/right")["Plaintext"] == b"p"


def test_decrypt_checks_key_state(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(errors.DisabledException):
        kms.decrypt(CiphertextBlob=blob)
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"


def test_symmetric_ciphertext_cannot_be_decrypted_outside(kms, key_id):
    """The blob is AES-GCM, but without the backing key nobody can open it."""
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    parts = parse_blob(blob)
    with pytest.raises(InvalidTag):
        AESGCM(AESGCM.generate_key(256)).decrypt(parts.nonce, parts.ciphertext, parts.header)


_lab = kmslab.Lab(seed=3)
_kms = _lab.client()
_key = _kms.create_key()["KeyMetadata"]["KeyId"]
_blob = _kms.encrypt(KeyId=_key, Plaintext=b"hypothesis", EncryptionContext={"k": "v"})["CiphertextBlob"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_mutated_blobs_always_raise_invalid_ciphertext(data):
    """A changed byte fails authentication; a change to the key ARN in the header names
    another key, which does not exist: AccessDeniedException, as AWS answers a missing key."""
    blob = bytearray(_blob)
    i = data.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    def named(b):
        parts = parse_blob(b)
        return parts.region, parts.account, parts.key_id
    try:
        names_another_key = named(bytes(blob)) != named(_blob)
    except errors.InvalidCiphertextException:
        names_another_key = False
    expected = errors.AccessDeniedException if names_another_key else errors.InvalidCiphertextException
    with pytest.raises(expected):
        _kms.decrypt(CiphertextBlob=bytes(blob), EncryptionContext={"k": "v"})


@settings(max_examples=200, deadline=None)
@given(st.integers(1, len(_blob) - 1))
def test_truncated_blobs_always_raise_invalid_ciphertext(n):
    with pytest.raises(errors.InvalidCiphertextException):
        _kms.decrypt(CiphertextBlob=_blob[:n], EncryptionContext={"k": "v"})


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_random_bytes_raise_invalid_ciphertext(junk):
    with pytest.raises(errors.InvalidCiphertextException):
        _kms.decrypt(CiphertextBlob=junk)


def test_re_encrypt(kms, key_id):
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"move me", EncryptionContext={"a": "b"})["CiphertextBlob"]
    out = check_response("ReEncrypt", kms.re_encrypt(
        CiphertextBlob=blob, SourceEncryptionContext={"a": "b"}, DestinationKeyId=dest,
        DestinationEncryptionContext={"c": "d"}))
    assert out["SourceKeyId"].endswith(key_id) and out["KeyId"].endswith(dest)
    assert "Plaintext" not in out
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"],
                       EncryptionContext={"c": "d"})["Plaintext"] == b"move me"
    with pytest.raises(errors.InvalidCiphertextException):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest)
    with pytest.raises(errors.IncorrectKeyException):
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=dest, SourceEncryptionContext={"a": "b"},
                       DestinationKeyId=dest)


def test_re_encrypt_to_a_disabled_key(kms, key_id):
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    kms.disable_key(KeyId=dest)
    with pytest.raises(errors.DisabledException):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest)


@pytest.mark.parametrize("params, length", [
    ({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
    ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024),
])
def test_generate_data_key(kms, key_id, params, length):
    out = check_response("GenerateDataKey", kms.generate_data_key(
        KeyId=key_id, EncryptionContext={"file": "a.txt"}, **params))
    assert len(out["Plaintext"]) == length
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"file": "a.txt"})
    assert back["Plaintext"] == out["Plaintext"]
    no_pt = check_response("GenerateDataKeyWithoutPlaintext", kms.generate_data_key_without_plaintext(
        KeyId=key_id, **params))
    assert "Plaintext" not in no_pt
    assert len(kms.decrypt(CiphertextBlob=no_pt["CiphertextBlob"])["Plaintext"]) == length


def test_data_key_opens_data_outside_kmslab(kms, key_id):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = b"\0" * 12
    sealed = AESGCM(dk["Plaintext"]).encrypt(nonce, b"bulk data", None)
    again = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"]
    assert AESGCM(again).decrypt(nonce, sealed, None) == b"bulk data"


@pytest.mark.parametrize("params", [
    {}, {"KeySpec": "AES_256", "NumberOfBytes": 32}, {"NumberOfBytes": 0},
    {"NumberOfBytes": 1025}, {"KeySpec": "AES_512"},
])
def test_generate_data_key_bad_sizes(kms, key_id, params):
    with pytest.raises(errors.ValidationException):
        kms.generate_data_key(KeyId=key_id, **params)


def test_generate_random(kms):
    out = check_response("GenerateRandom", kms.generate_random(NumberOfBytes=64))
    assert len(out["Plaintext"]) == 64
    assert out["Plaintext"] != kms.generate_random(NumberOfBytes=64)["Plaintext"]
    for n in (0, 1025):
        with pytest.raises(errors.ValidationException):
            kms.generate_random(NumberOfBytes=n)


def test_dry_run(kms, lab, key_id):
    with pytest.raises(errors.DryRunOperationException):
        kms.encrypt(KeyId=key_id, Plaintext=b"p", DryRun=True)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(errors.DisabledException):
        kms.encrypt(KeyId=key_id, Plaintext=b"p", DryRun=True)


def test_data_keys_differ_each_call(kms, key_id):
    a = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    b = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    assert a != b


@pytest.mark.parametrize("call", ["decrypt", "generate_data_key", "generate_random"])
def test_recipient_is_refused_everywhere_alike(kms, key_id, call):
    """A lab cannot verify a Nitro attestation document, so Recipient is refused, not ignored."""
    recipient = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": b"doc"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    params = {"decrypt": {"CiphertextBlob": blob}, "generate_data_key": {"KeyId": key_id, "KeySpec": "AES_256"},
              "generate_random": {"NumberOfBytes": 8}}[call]
    with pytest.raises(errors.ValidationException, match="Recipient"):
        getattr(kms, call)(Recipient=recipient, **params)


@pytest.mark.parametrize("key_spec, usage", [("HMAC_256", "GENERATE_VERIFY_MAC"),
                                             ("ECC_NIST_P256", "SIGN_VERIFY"),
                                             ("ECC_NIST_P256", "KEY_AGREEMENT"),
                                             ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")])
def test_data_keys_only_from_encryption_keys(kms, key_spec, usage):
    """InvalidKeyUsageException: "The KeyUsage value of the KMS key is incompatible with the API
    operation" (GenerateDataKey*'s errors); the message names the key's usage and the operation."""
    key = kms.create_key(KeySpec=key_spec, KeyUsage=usage)["KeyMetadata"]
    calls = {
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256"),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=key["KeyId"], KeySpec="AES_256"),
        "GenerateDataKeyPair": lambda: kms.generate_data_key_pair(
            KeyId=key["KeyId"], KeyPairSpec="ECC_NIST_P256"),
        "GenerateDataKeyPairWithoutPlaintext": lambda: kms.generate_data_key_pair_without_plaintext(
            KeyId=key["KeyId"], KeyPairSpec="ECC_NIST_P256"),
    }
    for operation, call in calls.items():
        with pytest.raises(errors.InvalidKeyUsageException) as caught:
            call()
        assert caught.value.message == f"{key['Arn']} key usage is {usage} which is not valid for {operation}."
