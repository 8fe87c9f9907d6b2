import pytest

import kmslab


@pytest.fixture
def lab():
    return kmslab.Lab(seed=1)


@pytest.fixture
def kms(lab):
    return lab.client()


@pytest.fixture
def key_id(kms):
    return kms.create_key(Description="test key")["KeyMetadata"]["KeyId"]
