"""Encryption contexts at the edges: text UTF-8 cannot carry, very long values, many pairs.

AWS documents the encryption context as string pairs that "can include Unicode characters"
(Developer Guide, encryption context rules) and sets no limit on its size for cryptographic
operations; a grant constraint may hold "up to 8 encryption context pairs", each value at most
384 characters (CreateGrant's Constraints text). A string with a lone surrogate is not Unicode
text: it is refused with ValidationException, as every string member is, and audited. A context
that simply does not match is InvalidCiphertextException, whose message AWS leaves empty.
"""

import pytest

from kmslab import errors
from kmslab.interop import boto3_client

LAB_SEED = 61
LONE = "\ud800"


def _refused(lab, call, where):
    before = len(lab.audit)
    with pytest.raises(errors.ValidationException) as info:
        call()
    assert f"Value at '{where}" in info.value.message and "lone surrogate" in info.value.message
    assert len(lab.audit) == before + 1
    assert lab.audit.records()[-1]["errorCode"] == "ValidationException"
    return info.value


@pytest.mark.parametrize("context", [{"dept": LONE}, {LONE: "x"}, {"a": "b", "c" + LONE + "d": "e"}])
def test_lone_surrogates_are_refused_in_every_operation_taking_a_context(lab, kms, key_id, context):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    calls = {
        "encryptionContext": [
            lambda: kms.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext=context),
            lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext=context),
            lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context),
            lambda: kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=16,
                                                            EncryptionContext=context),
            lambda: kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256",
                                               EncryptionContext=context),
            lambda: kms.generate_data_key_pair_without_plaintext(
                KeyId=key_id, KeyPairSpec="ECC_NIST_P256", EncryptionContext=context)],
        "sourceEncryptionContext": [
            lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id,
                                   SourceEncryptionContext=context)],
        "destinationEncryptionContext": [
            lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id,
                                   DestinationEncryptionContext=context)],
        "constraints.encryptionContextSubset": [
            lambda: kms.create_grant(KeyId=key_id, GranteePrincipal="arn:aws:iam::111122223333:root",
                                     Operations=["Decrypt"],
                                     Constraints={"EncryptionContextSubset": context})],
    }
    for where, group in calls.items():
        for call in group:
            _refused(lab, call, where)
    assert kms.list_grants(KeyId=key_id)["Grants"] == []  # nothing was created


def test_unicode_text_is_an_ordinary_context(kms, key_id):
    context = {"département": "café ☕", "鍵": "値", "emoji": "🔐" * 100}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext=context)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"p"


def test_lone_surrogates_are_refused_in_any_string_member(lab, kms, key_id):
    _refused(lab, lambda: kms.update_key_description(KeyId=key_id, Description="x" + LONE),
             "description")
    _refused(lab, lambda: kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "t", "TagValue": LONE}]),
             "tags.1.member.tagValue")
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []


def test_a_blob_given_as_text_utf8_cannot_encode_is_refused(lab, kms, key_id):
    """boto3 sends text given for a blob as UTF-8; text UTF-8 cannot encode is no blob."""
    before = len(lab.audit)
    with pytest.raises(errors.ValidationException, match="'plaintext' .*type blob"):
        kms.encrypt(KeyId=key_id, Plaintext="secret" + LONE)
    assert len(lab.audit) == before + 1
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key_id, Plaintext="text")["CiphertextBlob"])[
        "Plaintext"] == b"text"


def test_the_boto3_adapter_gets_the_same_answer(lab, key_id):
    client = boto3_client(lab)
    with pytest.raises(client.exceptions.ClientError) as info:
        client.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext={"k": LONE})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "lone surrogate" in info.value.response["Error"]["Message"]
    assert lab.audit.records()[-1]["errorCode"] == "ValidationException"
    blob = client.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext={"k": "é"})["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "é"})["Plaintext"] == b"p"


@pytest.mark.parametrize("context", [
    {"big": "v" * 70_000},                      # a value longer than a 2-byte length
    {"k" * 65_536: "v"},                        # a key longer than a 2-byte length
    {f"k{i}": "" for i in range(66_000)},       # more pairs than a 2-byte count
], ids=["long-value", "long-key", "many-pairs"])
def test_large_contexts_bind_like_any_other(kms, key_id, context):
    """No documented limit: the context is accepted, bound, and must match to decrypt."""
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext=context)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"p"
    changed = dict(context)
    changed[next(iter(changed))] += "!"
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=changed)


def test_a_context_that_does_not_match_has_aws_s_empty_message(lab, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext={"a": "b"})["CiphertextBlob"]
    for context in (None, {"a": "c"}, {"a": "b", "extra": "x"}):
        with pytest.raises(errors.InvalidCiphertextException) as info:
            kms.decrypt(CiphertextBlob=blob, **({"EncryptionContext": context} if context else {}))
        assert info.value.message == "" and info.value.response["Error"]["Message"] == ""
        assert "encryption context" in info.value.explanation  # what the learner is told
        assert lab.audit.records()[-1]["errorCode"] == "InvalidCiphertextException"
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"p"


@pytest.mark.parametrize("kind", ["EncryptionContextEquals", "EncryptionContextSubset"])
def test_grant_constraints_hold_8_pairs_of_values_up_to_384_characters(lab, kms, key_id, kind):
    grantee = "arn:aws:iam::111122223333:root"

    def grant(context):
        return kms.create_grant(KeyId=key_id, GranteePrincipal=grantee, Operations=["Decrypt"],
                                Constraints={kind: context})

    with pytest.raises(errors.ValidationException, match="up to 8"):
        grant({f"k{i}": "v" for i in range(9)})
    with pytest.raises(errors.ValidationException, match="cannot exceed 384"):
        grant({"k": "v" * 385})
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    grant({f"k{i}": "v" for i in range(8)})
    grant({"k": "v" * 384, "long key names are not limited": "x"})
    assert len(kms.list_grants(KeyId=key_id)["Grants"]) == 2


def test_a_timestamp_that_is_no_date_is_refused(lab, kms):
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    for bad in ("next tuesday", 1e20, [2025]):
        before = len(lab.audit)
        with pytest.raises(errors.ValidationException, match="validTo"):
            kms.import_key_material(KeyId=key_id, ImportToken=b"t" * 16,
                                    EncryptedKeyMaterial=b"m" * 16, ValidTo=bad)
        assert len(lab.audit) == before + 1
