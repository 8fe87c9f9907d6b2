"""Median cost of one policy decision (kmslab.policy.decide).

Run: PYTHONPATH=src python benchmarks/bench_policy.py

Cases: the default key policy with the account root; the default key policy
with an IAM user whose IAM policy allows the action; a 10-statement key policy
with conditions (encryption context, kms:ViaService, kms:CallerAccount). The
reference is a plain dict look-up measured in the same run, so the ratio says
how many dict look-ups one decision costs on this machine.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from kmslab.identity import Principal, account_root
from kmslab.policy import RequestContext, decide, default_key_policy, parse_policy

from _timing import per_call  # noqa: E402

ACCOUNT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALICE = Principal(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, "IAMUser", "alice", "AIDAALICE")


def median_ns(fn, *, number: int = 20_000) -> float:
    """Median nanoseconds per call (7 batches of ``number`` calls)."""
    return per_call(fn, number=number) * 1e9


def ten_statement_policy() -> str:
    role = f"arn:aws:iam::{ACCOUNT}:role/App"
    statements = [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": "kms:*", "Resource": "*"}]
    for i in range(8):
        statements.append({
            "Sid": f"App{i}", "Effect": "Allow", "Principal": {"AWS": role},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {f"kms:EncryptionContext:Dept{i}": "IT",
                                           "kms:ViaService": "s3.us-east-1.amazonaws.com"},
                          "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": [f"Dept{i}"]}}})
    statements.append({"Sid": "EveryoneInAccount", "Effect": "Allow", "Principal": {"AWS": "*"},
                       "Action": "kms:Decrypt", "Resource": "*",
                       "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def main() -> None:
    default = parse_policy(default_key_policy(ACCOUNT))
    iam = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
         "Resource": f"arn:aws:kms:*:{ACCOUNT}:key/*"}]}), kind="identity")
    big = parse_policy(ten_statement_policy())
    root = account_root(ACCOUNT)
    bob = Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/App/s1", ACCOUNT, "AssumedRole", "s1",
                    "AROAAPP:s1", role_arn=f"arn:aws:iam::{ACCOUNT}:role/App")

    table = {"x": 1}
    ref = median_ns(lambda: table.get("x"))
    cases = {
        "default policy + root": lambda: decide(
            RequestContext("kms:Encrypt", root, KEY), key_policy=default, identity_policies=()),
        "default policy + IAM user with IAM policy": lambda: decide(
            RequestContext("kms:Encrypt", ALICE, KEY), key_policy=default, identity_policies=(iam,)),
        "10-statement policy with conditions": lambda: decide(
            RequestContext("kms:Decrypt", bob, KEY, encryption_context={"Dept7": "IT"},
                           conditions={"kms:ViaService": "s3.us-east-1.amazonaws.com"}),
            key_policy=big, identity_policies=()),
    }
    assert all(fn().allowed for fn in cases.values())
    print(f"reference dict.get: {ref:8.0f} ns")
    for name, fn in cases.items():
        ns = median_ns(fn, number=5_000)
        print(f"{name:45s} {ns / 1000:7.2f} us/decide  ({ns / ref:6.0f} x dict.get)")


if __name__ == "__main__":
    main()
