"""Shared fixtures: a seeded lab, its administrator's client, one symmetric key, a connected
CloudHSM key store.

A test module picks its own seed with a module constant ``LAB_SEED = n``
(default 1), so the ids it sees stay the same whatever other modules do.
"""

import pytest

import kmslab


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
