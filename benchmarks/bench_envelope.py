"""Envelope encryption speed: kmslab vs raw AES-GCM vs the AWS Encryption SDK.

Run: PYTHONPATH=src python benchmarks/bench_envelope.py

Prints the median time of encrypt and decrypt for 1 KiB and 16 MiB
messages: kmslab.envelope (against kmslab's in-process KMS, with and without
a data-key cache), one raw ``cryptography`` AESGCM call over the same bytes,
and, when ``aws_encryption_sdk`` is importable (a benchmark-only
dependency), the Encryption SDK in its default configuration (committing
suite with ECDSA P-384 signature, 4 KiB frames) and its fastest one (64 KiB
frames, committing suite without signature), with a caching CMM for 1 KiB.
The SDK gets a raw AES wrapping key (a crypto-only comparison): no KMS call
on its side, while kmslab's uncached rows include an in-process
GenerateDataKey/Decrypt.
"""

from __future__ import annotations

import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved  # noqa: E402

import kmslab  # noqa: E402
from kmslab import envelope  # noqa: E402

SIZES = {"1 KiB": 1 << 10, "16 MiB": 16 << 20}


def medians_s(contenders: dict, size: int) -> dict:
    """Median seconds per call of each contender, batches interleaved (fewer for large sizes)."""
    if size <= 4096:
        return interleaved(contenders, number=1000, repeat=9)
    return interleaved(contenders, number=2, repeat=7)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"


def sdk_setup():
    try:
        import aws_encryption_sdk
        from aws_encryption_sdk.identifiers import (Algorithm, CommitmentPolicy, EncryptionKeyType,
                                                    WrappingAlgorithm)
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
    cache = aws_encryption_sdk.LocalCryptoMaterialsCache(capacity=100)
    cached = aws_encryption_sdk.CachingCryptoMaterialsManager(
        master_key_provider=provider, cache=cache, max_age=600.0, max_messages_encrypted=2**32)
    fastest = {"algorithm": Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, "frame_length": 65536}
    return {"client": client, "provider": provider, "cached": cached, "fastest": fastest,
            "version": aws_encryption_sdk.__version__}


def main() -> int:
    lab = kmslab.Lab(seed=1)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    context = {"purpose": "benchmark"}
    sdk = sdk_setup()
    results: dict[tuple[str, str], float] = {}
    for label, size in SIZES.items():
        data = os.urandom(size)
        contenders = {}
        aes = AESGCM(os.urandom(32))
        nonce = os.urandom(12)
        sealed = aes.encrypt(nonce, data, None)
        contenders["raw AESGCM encrypt"] = lambda: aes.encrypt(nonce, data, None)
        contenders["raw AESGCM decrypt"] = lambda: aes.decrypt(nonce, sealed, None)

        message = envelope.encrypt(kms, data, [key], context)
        contenders["kmslab encrypt"] = (
            lambda: envelope.encrypt(kms, data, [key], context))
        contenders["kmslab decrypt"] = (
            lambda: envelope.decrypt(kms, message, context))
        cache = envelope.DataKeyCache(max_age=600)
        contenders["kmslab encrypt (cache)"] = (
            lambda: envelope.encrypt(kms, data, [key], context, cache=cache))
        contenders["kmslab decrypt (cache)"] = (
            lambda: envelope.decrypt(kms, message, context, cache=cache))

        if sdk:
            client, provider = sdk["client"], sdk["provider"]

            def sdk_encrypt(**options):
                return client.encrypt(source=data, key_provider=provider,
                                      encryption_context=context, **options)[0]

            default_message = sdk_encrypt()
            fast_message = sdk_encrypt(**sdk["fastest"])
            contenders["SDK default encrypt"] = sdk_encrypt
            contenders["SDK default decrypt"] = (
                lambda: client.decrypt(source=default_message, key_provider=provider))
            contenders["SDK fastest encrypt"] = lambda: sdk_encrypt(**sdk["fastest"])
            contenders["SDK fastest decrypt"] = (
                lambda: client.decrypt(source=fast_message, key_provider=provider))
            if size <= 4096:
                cmm = sdk["cached"]
                for config, options in (("default", {}), ("fastest", dict(sdk["fastest"]))):
                    def cached_encrypt(options=options):
                        return client.encrypt(source=data, materials_manager=cmm,
                                              encryption_context=context, **options)[0]
                    cached_message = cached_encrypt()
                    contenders[f"SDK {config} encrypt (cache)"] = cached_encrypt
                    contenders[f"SDK {config} decrypt (cache)"] = (
                        lambda m=cached_message: client.decrypt(source=m, materials_manager=cmm))

        for name, seconds in medians_s(contenders, size).items():
            results[label, name] = seconds

    print(f"python {sys.version.split()[0]}; AWS Encryption SDK: "
          f"{sdk['version'] + ' (raw AES wrapping key, no KMS)' if sdk else 'not installed'}")
    for label in SIZES:
        print(f"\n{label}")
        for (size_label, name), seconds in results.items():
            if size_label == label:
                mbps = SIZES[label] / seconds / 1e6
                print(f"  {name:30s} {fmt(seconds)}  {mbps:9.1f} MB/s")

    def ratio(label, a, b):
        if (label, a) in results and (label, b) in results:
            print(f"  {label}: {a} / {b} = {results[label, a] / results[label, b]:.2f}x")

    print("\nratios (target in brackets)")
    for op in ("encrypt", "decrypt"):
        ratio("16 MiB", f"kmslab {op} (cache)", f"raw AESGCM {op}")  # [<= 1.25]
        ratio("16 MiB", f"kmslab {op}", f"raw AESGCM {op}")  # [<= 1.25]
        ratio("16 MiB", f"SDK default {op}", f"kmslab {op}")  # [>= 20]
        ratio("16 MiB", f"SDK fastest {op}", f"kmslab {op}")  # [>= 4]
        ratio("1 KiB", f"SDK default {op} (cache)", f"kmslab {op} (cache)")  # [>= 20]
        ratio("1 KiB", f"SDK fastest {op} (cache)", f"kmslab {op} (cache)")  # [>= 20]
    print("  targets: kmslab/raw <= 1.25 at 16 MiB; SDK default/kmslab >= 20 and SDK fastest/kmslab"
          " >= 4 at 16 MiB; SDK cached/kmslab cached >= 20 at 1 KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
