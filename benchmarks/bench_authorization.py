"""Median in-process Encrypt time with the PolicyAuthorizer vs the OpenAuthorizer.

Run: PYTHONPATH=src python benchmarks/bench_authorization.py

Both labs hold one symmetric key with the default key policy; the caller is
the account's admin user (identity policy ``*``), so every Encrypt is decided
by the key policy's root statement plus IAM. The OpenAuthorizer (no policy
evaluation) is the reference measured in the same run; the target is a ratio
of at most 1.3. A third line shows a key policy with an encryption-context
condition, which cannot be cached (every request is evaluated).
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kmslab  # noqa: E402
from kmslab.service.authorization import OpenAuthorizer  # noqa: E402

from _timing import interleaved  # noqa: E402


def encrypt_case(open_authorizer: bool, policy: str | None = None):
    lab = kmslab.Lab(seed=1)
    if open_authorizer:
        lab.authorizer = OpenAuthorizer()
    kms = lab.client()
    key_id = kms.create_key(**({"Policy": policy} if policy else {}))["KeyMetadata"]["KeyId"]
    context = {"purpose": "bench"}
    return lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x" * 64, EncryptionContext=context)


def conditional_policy(account: str = "111122223333") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Deny without purpose", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"Null": {"kms:EncryptionContext:purpose": "true"}}}]})


def main() -> None:
    cases = {"open": encrypt_case(True), "policy": encrypt_case(False),
             "policy+condition": encrypt_case(False, conditional_policy())}
    # interleaved batches, so machine noise hits every case alike
    medians = {name: seconds * 1e6 for name, seconds in
               interleaved(cases, number=2_000, repeat=5, warmup=200).items()}
    ref = medians["open"]
    print("Encrypt, 64-byte plaintext, default key policy, admin caller (median of 5 x 2,000 calls)")
    print(f"  OpenAuthorizer (no policy evaluation) {ref:8.2f} us")
    print(f"  PolicyAuthorizer                      {medians['policy']:8.2f} us"
          f"   ratio {medians['policy'] / ref:.2f}  (target <= 1.30)")
    print(f"  PolicyAuthorizer, conditional policy  {medians['policy+condition']:8.2f} us"
          f"   ratio {medians['policy+condition'] / ref:.2f}  (not cacheable)")


if __name__ == "__main__":
    main()
