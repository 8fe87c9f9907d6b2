"""Envelope encryption speed: kmslab vs the AWS Encryption SDK, suite for suite, and raw AES-GCM.

Run: PYTHONPATH=src python benchmarks/bench_envelope.py

Both libraries write the same messages (the SDK's format version 2), so the
comparison is like with like: the same suite, the same frame length.

* 16 MiB: kmslab and the SDK, each suite (``..._COMMIT_KEY`` unsigned,
  ``..._COMMIT_KEY_ECDSA_P384`` signed) with 64 KiB frames; kmslab with its
  default 1 MiB frames and the SDK with its default 4 KiB frames; one raw
  ``cryptography`` AESGCM call over the same bytes (the unsigned floor) and
  one SHA-384 over them (the signed suite's floor: its signature covers
  every byte).
* 1 KiB with a data-key cache on both sides (kmslab's DataKeyCache, the
  SDK's caching CMM): the per-message cost once KMS is out of the way.

The SDK gets a raw AES wrapping key (no KMS call on its side); kmslab's
uncached rows include an in-process GenerateDataKey or Decrypt call.
Medians of interleaved batches; ratios are of medians.
"""

from __future__ import annotations

import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(__file__))
import kmslab  # noqa: E402
from kmslab import envelope  # noqa: E402

from _timing import interleaved  # noqa: E402

SIGNED = envelope.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
UNSIGNED = envelope.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
SUITES = {"unsigned": UNSIGNED, "signed": SIGNED}
LARGE, SMALL = 16 << 20, 1 << 10
FRAME = 64 << 10


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"


def sdk_setup():
    """The SDK with a raw AES wrapping key, plain and behind a caching CMM; None if absent."""
    try:
        import aws_encryption_sdk
        from aws_encryption_sdk.identifiers import (
            CommitmentPolicy,
            EncryptionKeyType,
            WrappingAlgorithm,
        )
        from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
        from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider
    except ImportError:
        return None

    class StaticRawKeys(RawMasterKeyProvider):
        provider_id = "bench"

        def _get_raw_key(self, key_id):
            return WrappingKey(wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                               wrapping_key=self._material, wrapping_key_type=EncryptionKeyType.SYMMETRIC)

    provider = StaticRawKeys()
    provider._material = os.urandom(32)
    provider.add_master_key(b"bench-key")
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    cached = aws_encryption_sdk.CachingCryptoMaterialsManager(
        master_key_provider=provider, cache=aws_encryption_sdk.LocalCryptoMaterialsCache(capacity=100),
        max_age=600.0, max_messages_encrypted=2**32)
    return {"client": client, "provider": provider, "cached": cached,
            "algorithm": {name: getattr(aws_encryption_sdk.Algorithm, suite.name)
                          for name, suite in SUITES.items()},
            "version": aws_encryption_sdk.__version__}


def large_contenders(kms, key, context, sdk, data) -> dict:
    """Encrypt and decrypt of ``data`` by every contender, as zero-argument callables."""
    out = {}
    aes, nonce = AESGCM(os.urandom(32)), os.urandom(12)
    sealed = aes.encrypt(nonce, data, None)
    out["raw AESGCM encrypt"] = lambda: aes.encrypt(nonce, data, None)
    out["raw AESGCM decrypt"] = lambda: aes.decrypt(nonce, sealed, None)

    def sha384():
        digest = hashes.Hash(hashes.SHA384())
        digest.update(data)
        return digest.finalize()
    out["SHA-384 of the data"] = sha384

    def kmslab_pair(label, suite, frame_length):
        message = envelope.encrypt(kms, data, [key], context, algorithm=suite,
                                   frame_length=frame_length)
        out[f"kmslab {label} encrypt"] = lambda: envelope.encrypt(
            kms, data, [key], context, algorithm=suite, frame_length=frame_length)
        out[f"kmslab {label} decrypt"] = lambda: envelope.decrypt(kms, message, context)

    def sdk_pair(label, suite, frame_length):
        client, provider = sdk["client"], sdk["provider"]
        options = {"algorithm": sdk["algorithm"][suite], "frame_length": frame_length}
        message = client.encrypt(source=data, key_provider=provider, encryption_context=context,
                                 **options)[0]
        out[f"SDK {label} encrypt"] = lambda: client.encrypt(
            source=data, key_provider=provider, encryption_context=context, **options)[0]
        out[f"SDK {label} decrypt"] = lambda: client.decrypt(source=message, key_provider=provider)

    for name, suite in SUITES.items():
        kmslab_pair(f"{name} 64K", suite, FRAME)
        if sdk:
            sdk_pair(f"{name} 64K", name, FRAME)
    kmslab_pair("unsigned 1M", UNSIGNED, envelope.DEFAULT_FRAME_LENGTH)
    kmslab_pair("signed 1M", SIGNED, envelope.DEFAULT_FRAME_LENGTH)
    if sdk:
        sdk_pair("signed 4K", "signed", 4096)
    return out


def small_cached_contenders(kms, key, context, sdk, data) -> dict:
    out = {}
    if sdk:
        client, cmm = sdk["client"], sdk["cached"]
    for name, suite in SUITES.items():
        cache = envelope.DataKeyCache(max_age=600)
        message = envelope.encrypt(kms, data, [key], context, algorithm=suite, cache=cache)
        out[f"kmslab {name} encrypt (cache)"] = (
            lambda suite=suite, cache=cache: envelope.encrypt(kms, data, [key], context,
                                                               algorithm=suite, cache=cache))
        out[f"kmslab {name} decrypt (cache)"] = (
            lambda message=message, cache=cache: envelope.decrypt(kms, message, context,
                                                                   cache=cache))
        if sdk:
            algorithm = sdk["algorithm"][name]

            def sdk_encrypt(algorithm=algorithm):
                return client.encrypt(source=data, materials_manager=cmm,
                                      encryption_context=context, algorithm=algorithm)[0]
            sdk_message = sdk_encrypt()
            out[f"SDK {name} encrypt (cache)"] = sdk_encrypt
            out[f"SDK {name} decrypt (cache)"] = (
                lambda m=sdk_message: client.decrypt(source=m, materials_manager=cmm))
    return out


def main() -> int:
    lab = kmslab.Lab(seed=1)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    context = {"purpose": "benchmark"}
    sdk = sdk_setup()
    large = interleaved(large_contenders(kms, key, context, sdk, os.urandom(LARGE)),
                        number=2, repeat=7)
    small = interleaved(small_cached_contenders(kms, key, context, sdk, os.urandom(SMALL)),
                        number=200, repeat=7)

    print(f"python {sys.version.split()[0]}; AWS Encryption SDK: "
          f"{sdk['version'] + ' (raw AES wrapping key, no KMS)' if sdk else 'not installed'}")
    for label, size, results in (("16 MiB", LARGE, large), ("1 KiB, data-key cache", SMALL, small)):
        print(f"\n{label}")
        for name, seconds in results.items():
            print(f"  {name:34s} {fmt(seconds)}  {size / seconds / 1e6:9.1f} MB/s")

    def ratio(results, a, b, target=""):
        if a in results and b in results:
            print(f"  {a} / {b} = {results[a] / results[b]:.2f}x {target}")

    print("\nratios (targets in brackets)")
    for op in ("encrypt", "decrypt"):
        ratio(large, f"kmslab unsigned 1M {op}", f"raw AESGCM {op}", "[<= 1.25]")
        ratio(large, f"kmslab unsigned 64K {op}", f"raw AESGCM {op}")
        ratio(large, f"SDK unsigned 64K {op}", f"kmslab unsigned 64K {op}", "[>= 4]")
        ratio(large, f"SDK signed 64K {op}", f"kmslab signed 64K {op}", "[>= 4]")
        ratio(large, f"kmslab signed 64K {op}", "SHA-384 of the data")
        ratio(large, f"SDK signed 4K {op}", f"kmslab signed 1M {op}")
        for name in SUITES:
            ratio(small, f"SDK {name} {op} (cache)", f"kmslab {name} {op} (cache)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
