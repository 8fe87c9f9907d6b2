"""The latency lab: exact model numbers, computed vs run, throttling, reproducibility."""

from __future__ import annotations

import base64
import json
import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

import kmslab
from kmslab import envelope, latency
from kmslab.latency import LatencyModel, SimulatedNetwork, TokenBucket
from kmslab.latency.compare import CONTEXT, time_traces
from kmslab.latency.timeline import CallRecord, Trace, simulate

MODEL = LatencyModel(rtt_ms=10.0, bandwidth_mbps=8.0, service_ms={"Encrypt": 2.0,
                                                                  "GenerateDataKey": 3.0})


@pytest.fixture
def key(lab):
    return lab.client().create_key()["KeyMetadata"]


def _row(frame, strategy, size):
    rows = frame[(frame["strategy"] == strategy) & (frame["size_bytes"] == size)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_direct_latency_grows_with_ceil_size_over_4096(lab, key):
    sizes = [1, 4096, 4097, 3 * 4096 + 5]
    frame = latency.compare(lab, sizes, ["direct"], model=MODEL, key_id=key["KeyId"], requests=2)
    client = lab.client()
    blob_overhead = len(client.encrypt(KeyId=key["KeyId"], Plaintext=b"x",
                                       EncryptionContext=CONTEXT)["CiphertextBlob"]) - 1

    def call_s(chunk):  # the model written out by hand: 8 Mbit/s is one byte per microsecond
        request = json.dumps({"KeyId": key["KeyId"],
                              "Plaintext": base64.b64encode(bytes(chunk)).decode(),
                              "EncryptionContext": CONTEXT}, separators=(",", ":"))
        response = json.dumps({"CiphertextBlob": "A" * (4 * math.ceil((chunk + blob_overhead) / 3)),
                               "KeyId": key["Arn"], "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                              separators=(",", ":"))
        extra = _response_extra_bytes(client, key)
        return 0.010 + 0.002 + (700 + len(request) + 250 + len(response) + extra) * 1e-6

    for size in sizes:
        row = _row(frame, "direct", size)
        chunks = [4096] * (size // 4096) + ([size % 4096] if size % 4096 else [])
        assert row["kms_calls"] == 2 * math.ceil(size / 4096)
        assert row["latency_s"] == pytest.approx(sum(call_s(c) for c in chunks), rel=1e-12)
        assert row["total_s"] == pytest.approx(2 * row["latency_s"], rel=1e-12)
        assert row["cost_usd"] == pytest.approx(row["kms_calls"] * 0.03 / 10_000)


def _response_extra_bytes(client, key) -> int:
    """JSON bytes of response members other than the three standard ones (KeyMaterialId...)."""
    response = client.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=CONTEXT)
    extra = {k: v for k, v in response.items()
             if k not in ("CiphertextBlob", "KeyId", "EncryptionAlgorithm", "ResponseMetadata")}
    if not extra:
        return 0
    both = json.dumps({"a": 1, **extra}, separators=(",", ":"))
    return len(both) - len('{"a":1}')


def test_envelope_is_one_round_trip_plus_local_time(lab, key):
    sizes = [1, 4096, 1 << 20, 1 << 30]
    frame = latency.compare(lab, sizes, ["envelope"], model=MODEL, key_id=key["KeyId"], requests=3)
    kms_parts = [_row(frame, "envelope", s)["latency_s"] - MODEL.local_s(s) for s in sizes]
    assert all(p == pytest.approx(kms_parts[0], rel=1e-12) for p in kms_parts)
    assert 0.013 < kms_parts[0] < 0.013 + 0.002  # rtt + service + well under 2 KB of traffic
    assert list(frame["kms_calls"]) == [3] * 4


def test_cache_leaves_one_call(lab, key):
    frame = latency.compare(lab, [100, 1 << 20], ["envelope", "envelope+cache"], model=MODEL,
                            key_id=key["KeyId"], requests=10)
    assert list(frame["kms_calls"]) == [10, 1, 10, 1]
    cached = _row(frame, "envelope+cache", 100)
    assert cached["total_s"] == pytest.approx(
        _row(frame, "envelope", 100)["latency_s"] + 9 * MODEL.local_s(100), rel=1e-9)


def test_computed_numbers_equal_run_numbers(lab, key):
    sizes = [0, 1, 4096, 10_000, 70_000]
    columns = ["strategy", "size_bytes", "latency_s", "total_s", "kms_calls", "network_bytes",
               "throttles", "cost_usd"]
    run = latency.compare(lab, sizes, model=MODEL, key_id=key["KeyId"], requests=3,
                          run_limit_bytes=1 << 20)
    computed = latency.compare(lab, sizes, model=MODEL, key_id=key["KeyId"], requests=3,
                               run_limit_bytes=-1)
    assert set(run["mode"]) == {"run"} and set(computed["mode"]) == {"computed"}
    pd.testing.assert_frame_equal(run[columns], computed[columns], rtol=1e-12)


def test_closed_form_equals_event_simulation():
    calls = [CallRecord("Encrypt", 6000, 6000), CallRecord("GenerateDataKey", 900, 1200)]
    traces = [Trace([calls[i % 2]] * (i + 1), local_s=0.001 * i) for i in range(7)]
    for concurrency in (1, 3):
        fast = time_traces(traces, MODEL, concurrency=concurrency)
        slow = simulate(traces, MODEL, concurrency=concurrency)
        assert slow.throttles == 0
        assert fast.latencies_s == pytest.approx(slow.latencies_s, rel=1e-12)
        assert fast.total_s == pytest.approx(slow.total_s, rel=1e-12)
        assert fast.network_bytes == slow.network_bytes


def test_throttling_when_the_rate_exceeds_the_quota(lab, key):
    common = dict(sizes=[1000], strategies=["envelope"], requests=300, concurrency=40,
                  rtt_ms=1.0, key_id=key["KeyId"], seed=3)
    calm = latency.compare(lab, background_rps=0, region="eu-north-1", **common)
    busy = latency.compare(lab, background_rps=9_900, region="eu-north-1", **common)  # 100 left
    assert calm["throttles"].iloc[0] == 0
    assert busy["throttles"].iloc[0] > 0 and busy["retries"].iloc[0] > 0
    assert busy["total_s"].iloc[0] > 2.0  # 300 requests at ~100 per second
    assert busy["total_s"].iloc[0] > 50 * calm["total_s"].iloc[0]
    again = latency.compare(lab, background_rps=9_900, region="eu-north-1", **common)
    pd.testing.assert_frame_equal(busy, again)  # seeded: the same jitter, the same numbers
    # the same traffic in us-east-1, the lab's Region, whose default quota is 100,000 per second
    virginia = latency.compare(lab, background_rps=9_900, **common)
    assert virginia["throttles"].iloc[0] == 0


@pytest.mark.parametrize("region,expected", [
    ("eu-north-1", 10_000), ("ap-south-1", 10_000), ("sa-east-1", 10_000),
    ("us-east-2", 20_000), ("ap-southeast-1", 20_000), ("ap-southeast-2", 20_000),
    ("ap-northeast-1", 20_000), ("eu-central-1", 20_000), ("eu-west-2", 20_000),
    ("us-east-1", 100_000), ("us-west-2", 100_000), ("eu-west-1", 100_000)])
def test_the_region_sets_the_default_symmetric_quota(region, expected):
    model = LatencyModel(region=region)
    for operation in ("Encrypt", "Decrypt", "GenerateDataKey", "ReEncrypt", "GenerateMac"):
        assert model.quota_rps(operation) == expected
    assert model.quota_rps("CreateKey") == 5  # the same everywhere
    assert LatencyModel(region=region, background_rps=100).quota_rps("Encrypt") == expected - 100


def test_the_model_reads_the_quota_table_of_kmslab_quotas(monkeypatch):
    from kmslab import quotas
    for name in quotas.REQUEST_QUOTAS:
        for region in ("us-east-1", "eu-west-2", "af-south-1", "cn-north-1"):
            assert LatencyModel(region=region).quota(name) == quotas.default_rate(name, region)
    monkeypatch.setattr(quotas, "default_rate", lambda name, region: 7.0)  # one home: no copy
    assert LatencyModel().quota_rps("Encrypt") == LatencyModel().quota_rps("CreateKey") == 7.0


def test_a_changed_quota_wins_over_the_default_and_bad_ones_are_refused():
    symmetric = "Cryptographic operations (symmetric) request rate"
    model = LatencyModel(region="eu-west-2", quotas={symmetric: 50, "CreateKey": 1})
    assert model.quota_rps("Decrypt") == 50 and model.quota_rps("CreateKey") == 1
    assert model.quota_rps("DescribeKey") == 2_000
    with pytest.raises(ValueError, match="no request quota"):
        LatencyModel(quotas={"symmetric cryptographic operations": 10})
    with pytest.raises(ValueError, match="positive"):
        LatencyModel(quotas={symmetric: 0})
    assert LatencyModel().quota_rps("Encapsulate") == math.inf  # AWS publishes no quota


def test_compare_and_the_network_take_the_clients_region(lab, key):
    stockholm = lab.client(region_name="eu-north-1")
    stockholm_key = stockholm.create_key()["KeyMetadata"]["KeyId"]
    common = dict(sizes=[1000], strategies=["envelope"], requests=300, concurrency=40,
                  rtt_ms=1.0, background_rps=9_900, seed=3)
    assert latency.compare(stockholm, key_id=stockholm_key, **common)["throttles"].iloc[0] > 0
    assert latency.compare(lab, key_id=key["KeyId"], **common)["throttles"].iloc[0] == 0
    assert SimulatedNetwork(stockholm).model.region == "eu-north-1"
    assert SimulatedNetwork(lab.client()).model.quota_rps("Encrypt") == 100_000


def test_token_bucket():
    bucket = TokenBucket(rate=2)
    assert [bucket.take(0.0) for _ in range(3)] == [True, True, False]
    assert bucket.take(0.5) and not bucket.take(0.5)
    assert bucket.take(10.0) and bucket.take(10.0) and not bucket.take(10.0)  # burst is capped


def test_backoff_is_full_jitter_exponential_capped():
    model = LatencyModel()
    assert model.backoff_s(1, 0.5) == 0.5
    assert model.backoff_s(3, 1.0) == 4.0
    assert model.backoff_s(10, 1.0) == 20.0
    assert model.backoff_s(2, 0.0) == 0.0


def test_quota_table():
    model = LatencyModel(region="eu-north-1", background_rps=100)
    assert model.quota_rps("Decrypt") == model.quota_rps("GenerateDataKey") == 9_900
    assert latency.operation_family("Encrypt") == latency.operation_family("ReEncrypt")
    assert LatencyModel().quota_rps("CreateKey") == 5


def test_simulated_network_charges_real_calls(lab, key):
    net = SimulatedNetwork(lab.client(), MODEL, seed=1)
    message = envelope.encrypt(net, b"hello", [key["Arn"]])
    assert net.calls == 1 and net.log[0]["operation"] == "GenerateDataKey"
    row = net.log[0]
    assert net.now == pytest.approx(0.010 + 0.003 + (row["request_bytes"] + row["response_bytes"]) * 1e-6)
    assert envelope.decrypt(net, message) == b"hello"
    assert list(net.log_frame()["operation"]) == ["GenerateDataKey", "Decrypt"]
    assert net.cost_usd == pytest.approx(2 * 0.03 / 10_000)


def test_simulated_network_throttles_retries_and_gives_up(lab, key):
    busy = LatencyModel(rtt_ms=20, region="ap-south-1", background_rps=9_990)  # 10 per second left
    net = SimulatedNetwork(lab.client(), busy, seed=2)
    for _ in range(40):
        net.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert net.calls == 40 and net.throttles > 0 and net.retries == net.throttles
    strict = SimulatedNetwork(lab.client(), LatencyModel(rtt_ms=20, region="ap-south-1",
                                                         background_rps=9_990, max_attempts=1))
    with pytest.raises(kmslab.errors.ThrottlingException) as caught:
        for _ in range(40):
            strict.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    # the bucket's one-second burst of 10, plus 10 per second refilled meanwhile
    assert strict.throttles == 1
    assert strict.calls == 10 + int(strict.now * 10)


def test_compare_frame_and_plots(lab):
    frame = latency.compare(lab, [100, 1 << 20, 1 << 30], rtt_ms=[5, 50], requests=2, measure=True)
    assert list(frame.columns) == ["strategy", "size_bytes", "rtt_ms", "requests", "concurrency",
                                   "mode", "latency_s", "total_s", "kms_calls", "throttles",
                                   "retries", "failed", "network_bytes", "cost_usd", "measured_s"]
    assert len(frame) == 2 * 3 * 3
    big = frame[frame["size_bytes"] == 1 << 30]
    assert big["measured_s"].isna().all() and (big["mode"] == "computed").all()
    assert frame[frame["size_bytes"] == 100]["measured_s"].notna().all()
    direct = _row(frame[frame["rtt_ms"] == 5], "direct", 1 << 30)
    assert direct["kms_calls"] == 2 * (1 << 30) // 4096
    for fig in (latency.plot_latency_vs_size(frame), latency.plot_calls_and_cost(frame),
                latency.plot_rtt_effect(frame), latency.plot_cache_effect(frame)):
        assert isinstance(fig, Figure) and fig.axes
    assert len(latency.plot_latency_vs_size(frame).axes[0].lines) == 3


def test_unknown_strategy(lab):
    with pytest.raises(ValueError, match="unknown strategies"):
        latency.compare(lab, [1], ["postal"])


def test_simulated_network_moves_the_lab_clock(lab, key):
    start = lab.clock.now()
    net = SimulatedNetwork(lab.client(), MODEL, clock=lab.clock)
    for _ in range(5):
        net.encrypt(KeyId=key["KeyId"], Plaintext=b"x" * 4096)
    moved = (lab.clock.now() - start).total_seconds()
    assert moved == pytest.approx(net.now, abs=1e-5)
    assert net.now > 5 * 0.012


def test_quotas_below_one_per_second_still_admit_requests():
    """GetParametersForImport's quota is 0.25/s: one request every four seconds."""
    from kmslab.latency.timeline import TokenBucket
    bucket = TokenBucket(0.25)
    assert bucket.take(0.0) and not bucket.take(1.0)
    assert not bucket.take(3.9) and bucket.take(4.0)
