"""Shared fixtures: a seeded lab, its administrator's client, one symmetric key, a connected
CloudHSM key store, RSA key generation held until a test lets it finish.

A test module picks its own seed with a module constant ``LAB_SEED = n``
(default 1), so the ids it sees stay the same whatever other modules do.
"""

import threading
import time

import pytest

import kmslab
from kmslab.crypto import asymmetric

WAIT = 30  # seconds a test waits for a thread before failing (never reached when it passes)


@pytest.fixture
def lab(request):
    return kmslab.Lab(seed=getattr(request.module, "LAB_SEED", 1))


@pytest.fixture
def kms(lab):
    return lab.client()


@pytest.fixture
def key_id(kms):
    return kms.create_key(Description="test key")["KeyMetadata"]["KeyId"]


@pytest.fixture
def cloudhsm_store(lab, kms):
    """The id of a CloudHSM key store (a cluster of two HSMs), connected and ready for keys."""
    cluster = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster(hsm_count=2))
    store = kms.create_custom_key_store(
        CustomKeyStoreName="store", CloudHsmClusterId=cluster.cluster_id,
        TrustAnchorCertificate=cluster.trust_anchor_certificate,
        KeyStorePassword="kmsPswd1")["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    return store


def _finish_background_keygen():
    """Let RSA keys earlier tests started in the background finish before the keygen is held."""
    for _ in range(3000):
        if asymmetric.background_generations() == 0:
            return
        time.sleep(0.01)
    raise AssertionError("background key generation did not finish")


@pytest.fixture
def held_keygen(monkeypatch):
    """RSA prime searches that start, then wait until the test lets them finish: yields the
    (started, release) events and the key sizes asked for."""
    _finish_background_keygen()
    started, release = threading.Event(), threading.Event()
    real = asymmetric._rsa_private_key
    calls = []

    def gated(bits):
        calls.append(bits)
        started.set()
        assert release.wait(WAIT)
        return real(bits)

    monkeypatch.setattr(asymmetric, "_rsa_private_key", gated)
    yield started, release, calls
    release.set()
