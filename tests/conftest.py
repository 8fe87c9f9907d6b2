"""Shared fixtures: a seeded lab, its administrator's client, one symmetric key.

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
