"""Sign and Verify speed: in-process kmslab vs raw ``cryptography`` on the same key type.

Run: PYTHONPATH=src python benchmarks/bench_sign.py [--profile]
Prints medians per call and the ratio against raw ``cryptography`` measured in
the same run (the raw side loads the same key type and signs the same
message). Target (issue 3): within 3x raw for ECC_NIST_P256 and Ed25519.
``--profile`` prints where the time of kmslab's P-256 Sign goes (cProfile).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

sys.path.insert(0, os.path.dirname(__file__))
import kmslab  # noqa: E402

from _timing import fmt, per_call  # noqa: E402

MESSAGE = b"m" * 256


def raw_pair(spec: str):
    """(sign, verify) with plain cryptography on a fresh key of the same type."""
    if spec == "ECC_NIST_P256":
        key = ec.generate_private_key(ec.SECP256R1())
        algorithm = ec.ECDSA(hashes.SHA256())
        signature = key.sign(MESSAGE, algorithm)
        public = key.public_key()
        return (lambda: key.sign(MESSAGE, algorithm),
                lambda: public.verify(signature, MESSAGE, algorithm))
    if spec == "ECC_NIST_EDWARDS25519":
        key = ed25519.Ed25519PrivateKey.generate()
        signature = key.sign(MESSAGE)
        public = key.public_key()
        return lambda: key.sign(MESSAGE), lambda: public.verify(signature, MESSAGE)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signature = key.sign(MESSAGE, pss, hashes.SHA256())
    public = key.public_key()
    return (lambda: key.sign(MESSAGE, pss, hashes.SHA256()),
            lambda: public.verify(signature, MESSAGE, pss, hashes.SHA256()))


def kmslab_pair(kms, spec: str, algorithm: str):
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"]
    return (lambda: kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm),
            lambda: kms.verify(KeyId=key_id, Message=MESSAGE, Signature=signature, SigningAlgorithm=algorithm))


CASES = [("ECC_NIST_P256", "ECDSA_SHA_256", 2000, "<= 3x"),
         ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", 2000, "<= 3x"),
         ("RSA_2048", "RSASSA_PSS_SHA_256", 200, "")]


def main() -> None:
    kms = kmslab.Lab(seed=1).client()
    print("kmslab Sign/Verify benchmark (median per call, 256-byte message)")
    print(f"  {'key spec / operation':34} {'raw cryptography':>16} {'kmslab':>12} {'ratio':>7}")
    for spec, algorithm, number, target in CASES:
        raw_sign, raw_verify = raw_pair(spec)
        kms_sign, kms_verify = kmslab_pair(kms, spec, algorithm)
        for name, raw_fn, kms_fn in (("Sign", raw_sign, kms_sign), ("Verify", raw_verify, kms_verify)):
            raw = per_call(raw_fn, number=number)
            ours = per_call(kms_fn, number=number)
            note = f"(target {target})" if target else ""
            print(f"  {spec + ' ' + name:34} {fmt(raw):>16} {fmt(ours):>12} {ours / raw:6.2f}x {note}")
    if "--profile" in sys.argv:
        kms_sign, _ = kmslab_pair(kms, "ECC_NIST_P256", "ECDSA_SHA_256")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5000):
            kms_sign()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
