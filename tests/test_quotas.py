"""Request quotas (ThrottlingException) and the customer-managed-key quota."""

import pytest

import kmslab
from kmslab import errors, quotas


def _throttled(fn):
    with pytest.raises(errors.ThrottlingException) as info:
        fn()
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["Error"]["Message"] == "Rate exceeded"
    return info.value


def _counts(q) -> dict:
    """quota name -> (admitted, throttled), over every account and Region."""
    out: dict = {}
    for row in q.usage().itertuples():
        admitted, throttled = out.get(row.quota, (0, 0))
        out[row.quota] = (admitted + row.admitted, throttled + row.throttled)
    return out


def test_quotas_are_off_by_default(lab, kms):
    for _ in range(30):  # CreateKey's quota is 5 per second
        kms.create_key()
    assert lab.request_quotas is None


def test_create_key_beyond_five_per_second_is_throttled_and_audited(lab, kms):
    lab.enable_request_quotas()
    for _ in range(5):
        kms.create_key()
    _throttled(kms.create_key)
    assert len(kms.list_keys()["Keys"]) == 5  # the throttled request created nothing
    last = lab.audit.filter(event_name="CreateKey").records()[-1]
    assert last["errorCode"] == "ThrottlingException"
    assert last["errorMessage"] == "Rate exceeded"
    lab.clock.advance(seconds=1)  # the bucket refills at the quota's rate
    kms.create_key()


def test_tokens_refill_at_the_quota_rate(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    q = lab.enable_request_quotas({"Cryptographic operations (symmetric) request rate": 4})
    for _ in range(4):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    _throttled(lambda: kms.encrypt(KeyId=key, Plaintext=b"x"))
    lab.clock.advance(seconds=0.5)  # half a second: two more tokens
    assert kms.encrypt(KeyId=key, Plaintext=b"x")["KeyId"].endswith(key)
    assert len(kms.generate_data_key(KeyId=key, NumberOfBytes=32)["Plaintext"]) == 32  # the same quota
    _throttled(lambda: kms.decrypt(CiphertextBlob=b"\0" * 60))
    assert _counts(q) == {"Cryptographic operations (symmetric) request rate": (6, 2)}


def test_symmetric_rsa_and_ecc_quotas_are_counted_separately(lab, kms):
    sym = kms.create_key()["KeyMetadata"]["KeyId"]
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    ecc = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    q = lab.enable_request_quotas({"Cryptographic operations (RSA) request rate": 2,
                                   "Cryptographic operations (ECC)": 3,
                                   "Cryptographic operations (symmetric) request rate": 1})
    kms.encrypt(KeyId=sym, Plaintext=b"x")
    for _ in range(2):
        kms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    _throttled(lambda: kms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256"))
    for _ in range(3):
        kms.sign(KeyId=ecc, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    _throttled(lambda: kms.sign(KeyId=ecc, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"))
    usage = q.usage().set_index("quota")
    assert usage.loc["Cryptographic operations (RSA) request rate", "throttled"] == 1
    assert usage.loc["Cryptographic operations (ECC) request rate", "admitted"] == 3
    assert usage.loc["Cryptographic operations (symmetric) request rate", "admitted"] == 1


def test_generate_data_key_pair_has_a_quota_per_key_pair_spec(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    q = lab.enable_request_quotas({"GenerateDataKeyPair (RSA_2048) request rate": 2})
    kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="RSA_2048")
    kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="RSA_2048")
    _throttled(lambda: kms.generate_data_key_pair(KeyId=key, KeyPairSpec="RSA_2048"))
    kms.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_P256")  # its own quota: 100/s
    kms.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_EDWARDS25519")
    lab.clock.advance(seconds=0.5)
    pair = kms.generate_data_key_pair(KeyId=key, KeyPairSpec="RSA_2048")
    assert pair["KeyPairSpec"] == "RSA_2048"
    counts = _counts(q)
    assert counts["GenerateDataKeyPair (RSA_2048) request rate"] == (3, 1)
    assert counts["GenerateDataKeyPair (ECC_NIST_P256) request rate"] == (1, 0)


def test_ecc_key_pairs_come_a_hundred_per_second_by_default(lab, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    q = lab.enable_request_quotas()
    for _ in range(100):
        kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="ECC_NIST_P256")
    _throttled(lambda: kms.generate_data_key_pair_without_plaintext(
        KeyId=key, KeyPairSpec="ECC_NIST_P256"))
    kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="ECC_NIST_P384")
    counts = _counts(q)
    assert counts["GenerateDataKeyPair (ECC_NIST_P256) request rate"] == (100, 1)
    assert counts["GenerateDataKeyPair (ECC_NIST_P384) request rate"] == (1, 0)


def test_quotas_below_one_per_second_admit_one_request_per_interval(lab, kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    q = lab.enable_request_quotas({"GetParametersForImport": 0.25})  # one every four seconds
    args = dict(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    kms.get_parameters_for_import(**args)
    lab.clock.advance(seconds=3)
    _throttled(lambda: kms.get_parameters_for_import(**args))
    lab.clock.advance(seconds=1)
    assert kms.get_parameters_for_import(**args)["ImportToken"]
    assert list(_counts(q).values()) == [(2, 1)]


def test_quotas_are_per_account_and_region(lab, kms):
    q = lab.enable_request_quotas({"CreateKey": 1})
    kms.create_key()
    lab.client(region_name="eu-west-1").create_key()
    other = lab.add_account("444455556666")
    lab.client(account=other).create_key()
    _throttled(kms.create_key)
    usage = q.usage()
    assert sorted((r.account, r.region, r.admitted, r.throttled) for r in usage.itertuples()) == [
        ("111122223333", "eu-west-1", 1, 0), ("111122223333", "us-east-1", 1, 1),
        ("444455556666", "us-east-1", 1, 0)]


def test_cross_account_requests_count_against_the_caller(lab, kms):
    other = lab.add_account("444455556666")
    theirs = lab.client(account=other)
    policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
              '["arn:aws:iam::444455556666:root","arn:aws:iam::111122223333:root"]},'
              '"Action":"kms:*","Resource":"*"}]}')
    arn = theirs.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    q = lab.enable_request_quotas({"DescribeKey": 1})
    kms.describe_key(KeyId=arn)  # counts against 111122223333
    theirs.describe_key(KeyId=arn)  # the owner's own budget is untouched
    _throttled(lambda: kms.describe_key(KeyId=arn))
    usage = q.usage()
    assert sorted((r.account, r.admitted, r.throttled) for r in usage.itertuples()) == [
        ("111122223333", 1, 1), ("444455556666", 1, 0)]


def test_disable_removes_the_check_and_enable_starts_afresh(lab, kms):
    lab.enable_request_quotas({"CreateKey": 1})
    kms.create_key()
    _throttled(kms.create_key)
    lab.disable_request_quotas()
    assert lab.request_quotas is None and not lab.hooks.active
    kms.create_key()
    kms.create_key()
    lab.enable_request_quotas({"CreateKey": 1})
    kms.create_key()


def test_unknown_quota_names_and_rates_are_refused(lab):
    with pytest.raises(ValueError):
        lab.enable_request_quotas({"Encrypt": 5})  # Encrypt shares a quota; name the quota
    with pytest.raises(ValueError):
        lab.enable_request_quotas({"CreateKey": 0})
    assert lab.request_quotas is None


def test_table_has_aws_defaults_and_regional_symmetric_quota():
    frame = quotas.table("ap-south-1").set_index("quota")["requests_per_second"]
    assert frame["Cryptographic operations (symmetric) request rate"] == 10_000
    assert frame["Cryptographic operations (RSA) request rate"] == 1_000
    assert frame["Cryptographic operations (ECC) request rate"] == 1_000
    assert frame["Cryptographic operations (ML-DSA) request rate"] == 1_000
    assert frame["GenerateDataKeyPair (RSA_2048) request rate"] == 20
    assert frame["GenerateDataKeyPair (RSA_3072) request rate"] == 4
    assert frame["GenerateDataKeyPair (RSA_4096) request rate"] == 1
    assert frame["GenerateDataKeyPair (ECC_NIST_P256) request rate"] == 100
    assert frame["GenerateDataKeyPair (ECC_NIST_EDWARDS25519) request rate"] == 100
    assert frame["DescribeKey request rate"] == 2_000
    assert frame["CreateKey request rate"] == 5
    assert frame["CreateGrant request rate"] == 50
    assert frame["RetireGrant request rate"] == frame["RevokeGrant request rate"] == 50
    assert frame["ImportKeyMaterial request rate"] == 15
    assert frame["DeleteImportedKeyMaterial request rate"] == 15
    assert frame["GetParametersForImport request rate"] == 1
    assert frame["RotateKeyOnDemand request rate"] == frame["GetKeyLastUsage request rate"] == 5
    assert frame["ListKeyRotations request rate"] == 100
    symmetric = "Cryptographic operations (symmetric) request rate"
    for region in ("us-east-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
                   "eu-central-1", "eu-west-2"):
        assert quotas.table(region).set_index("quota")["requests_per_second"][symmetric] == 20_000
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        assert quotas.table(region).set_index("quota")["requests_per_second"][symmetric] == 100_000
    beijing = quotas.table("cn-north-1").set_index("quota")["requests_per_second"]
    assert beijing["GenerateDataKeyPair (RSA_2048) request rate"] == 1
    assert beijing["GenerateDataKeyPair (RSA_4096) request rate"] == 0.1
    assert beijing[symmetric] == 10_000


def test_the_lab_enforces_the_regional_symmetric_default(lab, kms):
    enforced = lab.enable_request_quotas()
    symmetric = "Cryptographic operations (symmetric) request rate"
    assert enforced.limit(symmetric, "us-east-1") == 100_000
    assert enforced.limit(symmetric, "eu-west-2") == 20_000
    assert enforced.limit(symmetric, "eu-north-1") == 10_000
    assert enforced.limit("CreateKey", "eu-west-2") == 5
    with pytest.raises(ValueError):
        quotas.default_rate("symmetric cryptographic operations", "us-east-1")


def test_every_named_operation_is_a_kms_operation():
    import botocore.session
    model_ops = set(botocore.session.get_session().get_service_model("kms").operation_names)
    for op in model_ops:
        name = quotas.quota_name(op)
        assert name is None or name in quotas.REQUEST_QUOTAS
    for name in quotas.REQUEST_QUOTAS:
        if name.endswith(" request rate") and " " not in name.removesuffix(" request rate"):
            assert name.removesuffix(" request rate") in model_ops


def test_a_saved_lab_loads_with_quotas_off(lab, kms):
    lab.enable_request_quotas({"CreateKey": 1})
    kms.create_key()
    restored = kmslab.Lab.from_bytes(lab.to_bytes("pass phrase"), "pass phrase")
    assert restored.request_quotas is None
    restored.client().create_key()
    restored.client().create_key()


def test_lowered_key_quota_refuses_create_key_with_limit_exceeded(lab, kms):
    lab.key_quota = 2
    kms.create_key()
    kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    with pytest.raises(errors.LimitExceededException):
        kms.create_key()
    assert len(kms.list_keys()["Keys"]) == 2
    scheduled = kms.list_keys()["Keys"][0]["KeyId"]
    kms.schedule_key_deletion(KeyId=scheduled, PendingWindowInDays=7)
    with pytest.raises(errors.LimitExceededException):  # keys pending deletion still count
        kms.create_key()
    lab.clock.advance(days=7)
    kms.create_key()


def test_default_key_quota_is_one_hundred_thousand():
    assert kmslab.Lab().key_quota == 100_000
    assert quotas.RESOURCE_QUOTAS["Customer managed keys"][0] == 100_000
