"""RSA key material generated in a worker thread: honest, hidden, and usable on first use."""

import pickle

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from kmslab.crypto.asymmetric import BACKGROUND_SPECS, AsymmetricMaterial
from kmslab.crypto.factory import generate_material


def test_factory_generates_rsa_in_the_background_and_others_at_once():
    assert set(BACKGROUND_SPECS) == {"RSA_2048", "RSA_3072", "RSA_4096"}
    assert generate_material("ECC_NIST_P256").is_ready()
    material = generate_material("RSA_2048")
    assert isinstance(material, AsymmetricMaterial) and material.spec == "RSA_2048"


def test_first_use_waits_for_the_key_and_the_key_is_real():
    material = AsymmetricMaterial.generate_in_background("RSA_3072")
    assert "material hidden" in repr(material)
    with pytest.raises(TypeError):
        pickle.dumps(material)
    signature = material.sign("RSASSA_PSS_SHA_256", b"release")  # waits for the generation
    assert material.is_ready()
    public_key = serialization.load_der_public_key(material.public_key_der())
    assert public_key.key_size == 3072
    public_key.verify(signature, b"release", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                      hashes.SHA256())


def test_two_background_keys_are_different_keys():
    first = AsymmetricMaterial.generate_in_background("RSA_2048")
    second = AsymmetricMaterial.generate_in_background("RSA_2048")
    assert first.public_key_der() != second.public_key_der()
