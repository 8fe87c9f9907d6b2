"""DataKeyCache: data keys reused within max_age, max_messages and max_bytes."""

from __future__ import annotations

import io

import pytest

import kmslab
from kmslab import envelope
from kmslab.envelope import DataKeyCache

from envelope_support import Recording, make_kms, new_key


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def kms():
    return Recording(make_kms())


@pytest.fixture
def arn(kms):
    return new_key(kms)[1]


def kms_calls_for(kms, arn, cache, sizes, context=None):
    kms.calls.clear()
    for size in sizes:
        envelope.encrypt(kms, bytes(size), [arn], context, cache=cache)
    return len(kms.calls)


def test_without_cache_every_message_calls_kms(kms, arn):
    assert kms_calls_for(kms, arn, None, [10] * 5) == 5


def test_cached_data_key_is_reused(kms, arn):
    cache = DataKeyCache(max_age=60)
    assert kms_calls_for(kms, arn, cache, [10] * 5) == 1
    assert (cache.encrypt_misses, cache.encrypt_hits) == (1, 4)
    messages = [envelope.encrypt(kms, b"m", [arn], cache=cache) for _ in range(2)]
    edks = {envelope.parse(m).encrypted_data_keys for m in messages}
    assert len(edks) == 1  # same data key...
    assert len({envelope.parse(m).message_id for m in messages}) == 2  # ...new message ids


def test_max_messages(kms, arn):
    cache = DataKeyCache(max_age=60, max_messages=3)
    assert kms_calls_for(kms, arn, cache, [1] * 7) == 3  # messages 1-3, 4-6, 7


def test_max_messages_one_never_reuses(kms, arn):
    cache = DataKeyCache(max_age=60, max_messages=1)
    assert kms_calls_for(kms, arn, cache, [1] * 4) == 4


def test_max_bytes(kms, arn):
    cache = DataKeyCache(max_age=60, max_bytes=100)
    # 40 + 40 fit (80); the third 40 would make 120: fresh key; then 40 + 40 again
    assert kms_calls_for(kms, arn, cache, [40, 40, 40, 40]) == 2
    # a message larger than max_bytes on its own bypasses the cache
    kms.calls.clear()
    envelope.encrypt(kms, bytes(101), [arn], cache=cache)
    envelope.encrypt(kms, bytes(101), [arn], cache=cache)
    assert kms.calls == ["GenerateDataKey", "GenerateDataKey"]


def test_max_age_on_an_injected_clock(kms, arn):
    clock = FakeClock()
    cache = DataKeyCache(max_age=30, clock=clock)
    assert kms_calls_for(kms, arn, cache, [1, 1]) == 1
    clock.now += 30
    assert kms_calls_for(kms, arn, cache, [1]) == 0  # exactly max_age old: still usable
    clock.now += 0.5
    assert kms_calls_for(kms, arn, cache, [1, 1]) == 1


def test_entries_are_per_context_and_key_list(kms, arn):
    other = new_key(kms)[1]
    cache = DataKeyCache(max_age=60)
    kms.calls.clear()
    for context in ({"a": "1"}, {"a": "2"}, {"a": "1"}, None):
        envelope.encrypt(kms, b"x", [arn], context, cache=cache)
    envelope.encrypt(kms, b"x", [arn, other], {"a": "1"}, cache=cache)
    assert kms.calls == ["GenerateDataKey", "GenerateDataKey", "GenerateDataKey",
                         "GenerateDataKey", "Encrypt"]


def test_entries_are_per_algorithm_suite(kms, arn):
    cache = DataKeyCache(max_age=60)
    kms.calls.clear()
    for algorithm in (envelope.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
                      envelope.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384) * 2:
        envelope.encrypt(kms, b"x", [arn], {"a": "1"}, algorithm=algorithm, cache=cache)
    assert kms.calls == ["GenerateDataKey", "GenerateDataKey"]


def test_a_cached_signed_entry_keeps_its_signing_key(kms, arn):
    """As the SDK's caching CMM: the data key was bound (by KMS) to the context holding the
    public key, so the entry reuses the key pair too; every message still verifies."""
    cache = DataKeyCache(max_age=60)
    messages = [envelope.encrypt(kms, b"m%d" % i, [arn], {"a": "1"}, cache=cache)
                for i in range(3)]
    keys = {envelope.parse(m).encryption_context["aws-crypto-public-key"] for m in messages}
    assert len(keys) == 1 and kms.calls.count("GenerateDataKey") == 1
    assert [envelope.decrypt(kms, m, {"a": "1"}, cache=cache) for m in messages] == \
        [b"m0", b"m1", b"m2"]
    assert kms.calls.count("Decrypt") == 1  # one entry decrypts all three
    fresh = envelope.encrypt(kms, b"m", [arn], {"a": "1"})
    assert envelope.parse(fresh).encryption_context["aws-crypto-public-key"] not in keys


def test_capacity_evicts_least_recently_used(kms, arn):
    cache = DataKeyCache(max_age=60, capacity=2)
    kms_calls_for(kms, arn, cache, [1], {"n": "1"})
    kms_calls_for(kms, arn, cache, [1], {"n": "2"})
    kms_calls_for(kms, arn, cache, [1], {"n": "1"})  # touch 1
    kms_calls_for(kms, arn, cache, [1], {"n": "3"})  # evicts 2
    assert len(cache) == 2
    assert kms_calls_for(kms, arn, cache, [1], {"n": "1"}) == 0
    assert kms_calls_for(kms, arn, cache, [1], {"n": "2"}) == 1


def test_decrypt_cache(kms, arn):
    clock = FakeClock()
    cache = DataKeyCache(max_age=10, clock=clock)
    message = envelope.encrypt(kms, b"hello", [arn], {"c": "d"})
    kms.calls.clear()
    for _ in range(3):
        assert envelope.decrypt(kms, message, cache=cache) == b"hello"
    assert kms.calls == ["Decrypt"] and (cache.decrypt_misses, cache.decrypt_hits) == (1, 2)
    clock.now += 11
    envelope.decrypt(kms, message, cache=cache)
    assert kms.calls == ["Decrypt", "Decrypt"]


def test_decrypt_cache_does_not_bypass_key_filter(kms, arn):
    other = new_key(kms)[1]
    cache = DataKeyCache(max_age=60)
    message = envelope.encrypt(kms, b"hello", [arn])
    envelope.decrypt(kms, message, cache=cache)
    with pytest.raises(envelope.NoDecryptableKeyError):
        envelope.decrypt(kms, message, key_ids=[other], cache=cache)


def test_stream_with_cache_needs_the_length(kms, arn):
    cache = DataKeyCache(max_age=60)
    kms.calls.clear()
    for _ in range(2):
        envelope.encrypt_stream(kms, io.BytesIO(b"abc"), io.BytesIO(), [arn], cache=cache)
    for _ in range(2):
        envelope.encrypt_stream(kms, io.BytesIO(b"abc"), io.BytesIO(), [arn], cache=cache,
                                plaintext_length=3)
    assert kms.calls == ["GenerateDataKey"] * 3


def test_repr_shows_counters_not_keys(kms, arn):
    cache = DataKeyCache(max_age=60)
    kms_calls_for(kms, arn, cache, [1, 1])
    text = repr(cache)
    assert "hits=1" in text and "misses=1" in text
    assert kms.data_keys[-1].hex() not in text
    assert cache.stats() == {"encrypt_hits": 1, "encrypt_misses": 1, "decrypt_hits": 0,
                             "decrypt_misses": 0, "entries": 1}


@pytest.mark.parametrize("kwargs", [{"max_age": 0}, {"max_age": 1, "max_messages": 0},
                                    {"max_age": 1, "max_bytes": -1}])
def test_invalid_limits(kwargs):
    with pytest.raises(ValueError):
        DataKeyCache(**kwargs)


def test_max_age_on_the_lab_clock():
    lab = kmslab.Lab(seed=1)
    kms = Recording(lab.client())
    arn = new_key(kms)[1]
    cache = DataKeyCache(max_age=3600, clock=lab.clock.timestamp)
    assert kms_calls_for(kms, arn, cache, [1, 1]) == 1
    lab.clock.advance(minutes=59)
    assert kms_calls_for(kms, arn, cache, [1]) == 0
    lab.clock.advance(minutes=2)
    assert kms_calls_for(kms, arn, cache, [1]) == 1
