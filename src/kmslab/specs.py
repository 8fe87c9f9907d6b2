"""The tables of KMS key specs, key usages and algorithms (CreateKey, DescribeKey).

One row per ``KeySpec``: which ``KeyUsage`` values it allows and which
algorithms DescribeKey reports for each usage, exactly as AWS KMS does.
Specs AWS lists but that have no vetted implementation in ``cryptography``
carry an ``unsupported`` reason and are refused with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "KeySpecInfo", "KEY_SPECS", "key_spec", "ALGORITHM_FIELDS", "SIGNING_ALGORITHMS",
    "ENCRYPTION_ALGORITHMS", "MAC_ALGORITHMS", "DATA_KEY_PAIR_SPECS", "RSA_OAEP_MAX_PLAINTEXT",
    "SYMMETRIC_DEFAULT",
]

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"

_RSA_ENC = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
#: in the order DescribeKey lists them (API Reference example "To get details about an RSA
#: asymmetric KMS key", botocore's examples-1.json): PKCS #1 v1.5 before PSS
_RSA_SIGN = (
    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
)

#: KeyMetadata field that lists the algorithms for each key usage
ALGORITHM_FIELDS = MappingProxyType({
    "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
    "SIGN_VERIFY": "SigningAlgorithms",
    "GENERATE_VERIFY_MAC": "MacAlgorithms",
    "KEY_AGREEMENT": "KeyAgreementAlgorithms",
    "ENCAPSULATE_DECAPSULATE": "EncapsulationAlgorithms",
})


@dataclass(frozen=True, slots=True)
class KeySpecInfo:
    """One KeySpec: its usages and, per usage, the algorithms AWS reports."""

    name: str
    family: str  # SYMMETRIC, RSA, ECC, EDWARDS, ML_DSA, ML_KEM, HMAC, SM2
    usages: MappingProxyType  # KeyUsage -> tuple of algorithm names
    default_usage: str | None = None  # usage CreateKey picks when KeyUsage is omitted
    unsupported: str | None = None  # why kmslab refuses this spec
    legacy: bool = False  # also a CustomerMasterKeySpec value

    @property
    def symmetric(self) -> bool:
        """Whether the key's material is one secret (SYMMETRIC_DEFAULT and the HMAC specs)."""
        return self.family in ("SYMMETRIC", "HMAC")

    @property
    def asymmetric(self) -> bool:
        """Whether the key is a key pair (RSA, ECC, Edwards, ML-DSA, ML-KEM, SM2)."""
        return not self.symmetric

    def algorithms(self, usage: str) -> dict[str, list[str]]:
        """The KeyMetadata algorithm lists for this spec and usage."""
        return {ALGORITHM_FIELDS[usage]: list(self.usages[usage])}


def _spec(name, family, usages, default=None, unsupported=None, legacy=True):
    return KeySpecInfo(name, family, MappingProxyType(usages), default, unsupported, legacy)


_NO_SM2 = ("SM2 is offered only in the AWS China Regions and has no vetted "
           "implementation in the cryptography library, so kmslab does not simulate it.")
_NO_MLKEM512 = ("ML_KEM_512 has no vetted implementation in the cryptography library "
                "(it offers ML-KEM-768 and ML-KEM-1024), so kmslab does not simulate it.")

KEY_SPECS: MappingProxyType = MappingProxyType({s.name: s for s in [
    _spec("SYMMETRIC_DEFAULT", "SYMMETRIC", {"ENCRYPT_DECRYPT": ("SYMMETRIC_DEFAULT",)}, "ENCRYPT_DECRYPT"),
    _spec("RSA_2048", "RSA", {"ENCRYPT_DECRYPT": _RSA_ENC, "SIGN_VERIFY": _RSA_SIGN}),
    _spec("RSA_3072", "RSA", {"ENCRYPT_DECRYPT": _RSA_ENC, "SIGN_VERIFY": _RSA_SIGN}),
    _spec("RSA_4096", "RSA", {"ENCRYPT_DECRYPT": _RSA_ENC, "SIGN_VERIFY": _RSA_SIGN}),
    _spec("ECC_NIST_P256", "ECC", {"SIGN_VERIFY": ("ECDSA_SHA_256",), "KEY_AGREEMENT": ("ECDH",)}),
    _spec("ECC_NIST_P384", "ECC", {"SIGN_VERIFY": ("ECDSA_SHA_384",), "KEY_AGREEMENT": ("ECDH",)}),
    _spec("ECC_NIST_P521", "ECC", {"SIGN_VERIFY": ("ECDSA_SHA_512",), "KEY_AGREEMENT": ("ECDH",)}),
    _spec("ECC_SECG_P256K1", "ECC", {"SIGN_VERIFY": ("ECDSA_SHA_256",)}),
    _spec("ECC_NIST_EDWARDS25519", "EDWARDS",
          {"SIGN_VERIFY": ("ED25519_SHA_512", "ED25519_PH_SHA_512")}, legacy=False),
    _spec("ML_DSA_44", "ML_DSA", {"SIGN_VERIFY": ("ML_DSA_SHAKE_256",)}, legacy=False),
    _spec("ML_DSA_65", "ML_DSA", {"SIGN_VERIFY": ("ML_DSA_SHAKE_256",)}, legacy=False),
    _spec("ML_DSA_87", "ML_DSA", {"SIGN_VERIFY": ("ML_DSA_SHAKE_256",)}, legacy=False),
    _spec("ML_KEM_512", "ML_KEM", {"ENCAPSULATE_DECAPSULATE": ("ML_KEM",)}, unsupported=_NO_MLKEM512, legacy=False),
    _spec("ML_KEM_768", "ML_KEM", {"ENCAPSULATE_DECAPSULATE": ("ML_KEM",)}, legacy=False),
    _spec("ML_KEM_1024", "ML_KEM", {"ENCAPSULATE_DECAPSULATE": ("ML_KEM",)}, legacy=False),
    _spec("HMAC_224", "HMAC", {"GENERATE_VERIFY_MAC": ("HMAC_SHA_224",)}),
    _spec("HMAC_256", "HMAC", {"GENERATE_VERIFY_MAC": ("HMAC_SHA_256",)}),
    _spec("HMAC_384", "HMAC", {"GENERATE_VERIFY_MAC": ("HMAC_SHA_384",)}),
    _spec("HMAC_512", "HMAC", {"GENERATE_VERIFY_MAC": ("HMAC_SHA_512",)}),
    _spec("SM2", "SM2", {"ENCRYPT_DECRYPT": ("SM2PKE",), "SIGN_VERIFY": ("SM2DSA",),
                         "KEY_AGREEMENT": ("ECDH",)}, unsupported=_NO_SM2),
]})


def key_spec(name: str) -> KeySpecInfo:
    """The row of ``KEY_SPECS`` for the KeySpec ``name`` (KeyError for an unknown name)."""
    return KEY_SPECS[name]


ENCRYPTION_ALGORITHMS = ("SYMMETRIC_DEFAULT",) + _RSA_ENC
SIGNING_ALGORITHMS = _RSA_SIGN + ("ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512",
                                  "ED25519_SHA_512", "ED25519_PH_SHA_512", "ML_DSA_SHAKE_256")
MAC_ALGORITHMS = ("HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512")

#: GenerateDataKeyPair KeyPairSpec values kmslab supports (SM2 and ML_KEM_512 are refused)
DATA_KEY_PAIR_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                       "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519",
                       "ML_KEM_768", "ML_KEM_1024")

#: largest plaintext RSA Encrypt accepts: spec -> {algorithm: bytes}
RSA_OAEP_MAX_PLAINTEXT = MappingProxyType({
    "RSA_2048": {"RSAES_OAEP_SHA_1": 214, "RSAES_OAEP_SHA_256": 190},
    "RSA_3072": {"RSAES_OAEP_SHA_1": 342, "RSAES_OAEP_SHA_256": 318},
    "RSA_4096": {"RSAES_OAEP_SHA_1": 470, "RSAES_OAEP_SHA_256": 446},
})
