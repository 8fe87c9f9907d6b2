"""Faults and availability: outages, error rates, latency, SDK-style retries, the SLA figure."""

from datetime import timedelta

import pytest

import kmslab
from kmslab import errors
from kmslab.faults import RetryingClient, is_retryable


def test_region_outage_fails_only_in_its_window_and_region(lab, kms, key_id):
    start = lab.clock.now() + timedelta(hours=1)
    fault = lab.faults.region_outage("us-east-1", start, start + timedelta(hours=1))
    west = lab.client(region_name="us-west-2")
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    lab.clock.advance(hours=1)
    with pytest.raises(errors.KMSInternalException) as info:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert info.value.response["Error"]["Code"] == "KMSInternalException"
    west.create_key()  # another Region is fine
    lab.clock.advance(hours=1)
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert fault.injected == 1
    rec = [r for r in lab.audit.records() if r["eventName"] == "Encrypt"]
    assert [r.get("errorCode") for r in rec] == [None, "KMSInternalException", None]
    fault.remove()
    assert not lab.hooks.active


def test_error_rate_is_seeded_and_fraction_bounded(lab, kms, key_id):
    lab.faults.error_rate(0.3, seed=4)
    outcomes = []
    for _ in range(200):
        try:
            kms.describe_key(KeyId=key_id)
            outcomes.append("ok")
        except (errors.KMSInternalException, errors.DependencyTimeoutException) as err:
            outcomes.append(err.code)
    failed = 200 - outcomes.count("ok")
    assert 40 <= failed <= 80
    assert {"KMSInternalException", "DependencyTimeoutException"} <= set(outcomes)
    other = kmslab.Lab(seed=1)
    k2 = other.client().create_key()["KeyMetadata"]["KeyId"]
    other.faults.error_rate(0.3, seed=4)
    again = []
    for _ in range(200):
        try:
            other.client().describe_key(KeyId=k2)
            again.append("ok")
        except errors.KMSError as err:
            again.append(err.code)
    assert again == outcomes  # the same seed draws the same failures
    with pytest.raises(ValueError):
        lab.faults.error_rate(1.5)


def test_retrying_client_recovers_from_transient_errors(lab, kms, key_id):
    lab.faults.error_rate(0.5, ("KMSInternalException",), seed=2)
    client = lab.faults.retrying(kms, seed=0)
    before = lab.clock.now()
    ok = 0
    for _ in range(50):
        try:
            out = client.encrypt(KeyId=key_id, Plaintext=b"x")
            ok += 1
            assert out["ResponseMetadata"]["RetryAttempts"] in (0, 1, 2)
        except errors.KMSInternalException:
            pass
    attempts = client.attempts_frame()
    assert ok > 35  # 1 - 0.5**3 = 87.5% succeed with three attempts
    assert attempts["attempt"].max() == 3
    assert lab.clock.now() > before  # backoff passed on the lab clock
    retried = attempts[attempts["retried"]]
    assert (retried["outcome"] == "KMSInternalException").all()


def test_client_errors_are_not_retried(lab, kms):
    client = lab.faults.retrying(kms)
    with pytest.raises(errors.NotFoundException):
        client.describe_key(KeyId="alias/missing")
    assert len(client.attempts) == 1 and client.attempts[0]["retried"] is False
    assert is_retryable(errors.ThrottlingException("slow down"))
    assert is_retryable(errors.DependencyTimeoutException("t"))
    assert not is_retryable(errors.AccessDeniedException("no"))
    assert not is_retryable(errors.LimitExceededException("quota"))


def test_backoff_is_full_jitter_capped(lab, kms):
    client = RetryingClient(kms, lab, seed=3)
    for attempt in range(1, 8):
        for _ in range(20):
            assert 0 <= client.backoff(attempt) <= min(20, 2 ** (attempt - 1))


def test_latency_moves_the_clock_for_retrying_clients(lab, kms, key_id):
    lab.faults.add_latency(2.5, region="us-east-1", operations=("Encrypt",))
    client = lab.faults.retrying(kms)
    t0 = lab.clock.now()
    client.encrypt(KeyId=key_id, Plaintext=b"x")
    client.describe_key(KeyId=key_id)
    assert lab.clock.now() - t0 == timedelta(seconds=2.5)


def test_key_store_outage(lab, kms):
    cluster = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster())
    store = kms.create_custom_key_store(
        CustomKeyStoreName="s", CloudHsmClusterId=cluster.cluster_id,
        TrustAnchorCertificate=cluster.trust_anchor_certificate, KeyStorePassword="kmsPswd1")["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    in_store = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store)["KeyMetadata"]["KeyId"]
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=in_store, Plaintext=b"x")["CiphertextBlob"]
    lab.faults.key_store_outage(store, lab.clock.now(), lab.clock.now() + timedelta(hours=1))
    with pytest.raises(errors.KMSInvalidStateException,
                       match="KMS cannot communicate with your CloudHSM cluster"):
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.encrypt(KeyId=in_store, Plaintext=b"x")
    assert kms.describe_key(KeyId=in_store)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.encrypt(KeyId=plain, Plaintext=b"x")
    lab.clock.advance(hours=1)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_availability_counts_server_errors_not_client_errors(lab, kms, key_id):
    start = lab.clock.now()
    for _ in range(8):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId="alias/none")
    lab.faults.region_outage("us-east-1", start, start + timedelta(minutes=30))
    for _ in range(2):
        with pytest.raises(errors.KMSInternalException):
            kms.encrypt(KeyId=key_id, Plaintext=b"x")
    lab.clock.advance(hours=1)
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    frame = lab.faults.availability(window="1h")
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["requests"] == 12  # CreateKey + 8 + 1 client error + 2 server errors
    assert first["server_errors"] == 2 and first["client_errors"] == 1
    assert first["availability"] == round(9 / 11, 4)
    assert second["availability"] == 1.0
    assert list(frame.columns) == ["requests", "succeeded", "server_errors", "client_errors",
                                   "availability"]


def test_lab_with_faults_can_still_be_saved(lab, kms, key_id):
    lab.faults.error_rate(0.1)
    restored = kmslab.Lab.from_bytes(lab.to_bytes("pw"), "pw")
    assert restored.faults.installed == []
    restored.client().describe_key(KeyId=key_id)
