"""Snapshot speed: save and load of a lab holding everything, against the scrypt step alone.

Run: python benchmarks/bench_snapshot.py
Prints medians and the ratio against one scrypt derivation (N=2**15, r=8, p=1), measured
in the same run: the passphrase KDF is the deliberate, fixed cost of a save or a load;
the ratio shows what the lab itself adds (pickling, sealing, re-validating key material).
"""

from __future__ import annotations

import os
import sys

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _timing import compare, fmt  # noqa: E402
from snapshot_scenario import build_rich_lab  # noqa: E402

import kmslab  # noqa: E402

PASS = "benchmark passphrase"


def main() -> None:
    lab = kmslab.Lab(seed=1)
    build_rich_lab(lab)
    data = lab.to_bytes(PASS)

    def kdf():
        Scrypt(salt=b"\0" * 16, length=32, n=2 ** 15, r=8, p=1).derive(PASS.encode())

    ref, save, save_ratio = compare(kdf, lambda: lab.to_bytes(PASS), number=3, repeat=5)
    ref2, load, load_ratio = compare(kdf, lambda: kmslab.Lab.from_bytes(data, PASS), number=3, repeat=5)
    print(f"snapshot of {len(lab.client().list_keys()['Keys'])} keys, {len(lab.audit.records())} audit records")
    print(f"scrypt alone   {fmt(ref)}")
    print(f"save (bytes)   {fmt(save)}   x{save_ratio:5.2f} scrypt")
    print(f"load (bytes)   {fmt(load)}   x{load_ratio:5.2f} scrypt  (RSA private keys are re-validated)")


if __name__ == "__main__":
    main()
