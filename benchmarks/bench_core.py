"""Core speed: in-process Encrypt vs raw AES-GCM, and CreateKey per call.

Run: python benchmarks/bench_core.py
Prints medians and the ratio against raw ``cryptography`` measured in the same run.
Targets (issue 2): Encrypt within 10x raw AES-GCM; 10,000 keys well under a second per thousand.
"""

from __future__ import annotations

import os
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(__file__))
import kmslab  # noqa: E402

from _timing import compare, fmt  # noqa: E402


def main() -> None:
    data = os.urandom(1024)
    aead = AESGCM(AESGCM.generate_key(256))
    sealed = aead.encrypt(b"\0" * 12, data, None)

    def raw_encrypt():
        aead.encrypt(os.urandom(12), data, None)

    def raw_decrypt():
        aead.decrypt(b"\0" * 12, sealed, None)

    lab = kmslab.Lab(seed=1)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=data)["CiphertextBlob"]
    raw, enc, enc_ratio = compare(raw_encrypt, lambda: kms.encrypt(KeyId=key, Plaintext=data))
    raw_d, dec, dec_ratio = compare(raw_decrypt, lambda: kms.decrypt(CiphertextBlob=blob))

    lab2 = kmslab.Lab(seed=2)
    kms2 = lab2.client()
    t0 = time.perf_counter()
    for _ in range(10_000):
        kms2.create_key()
    create_total = time.perf_counter() - t0

    print("kmslab core benchmark (medians)")
    print(f"  raw AESGCM encrypt 1 KiB (with nonce)  {fmt(raw)}")
    print(f"  kmslab Encrypt 1 KiB in-process        {fmt(enc)}   ratio {enc_ratio:5.1f}x  (target <= 10x)")
    print(f"  raw AESGCM decrypt 1 KiB               {fmt(raw_d)}")
    print(f"  kmslab Decrypt 1 KiB in-process        {fmt(dec)}   ratio {dec_ratio:5.1f}x")
    print(f"  CreateKey x 10,000                     {fmt(create_total)} total, "
          f"{fmt(create_total / 10)} per thousand (target well under 1 s)")


if __name__ == "__main__":
    main()
