"""Per-call cost of Encrypt through the in-process boto3 adapter.

Reference: the same kind of botocore client whose ``before-send`` handler
answers a canned Encrypt response (botocore's own per-call cost: validation,
serialization, signing, parsing). Measured:

* adapter + a trivial backend (returns a fixed Encrypt result): what the
  adapter adds on top of botocore (target <= 1.2x the reference);
* adapter + kmslab's real lab, when ``kmslab.Lab`` is available.

Run: PYTHONPATH=src python benchmarks/bench_boto3_adapter.py
"""

from __future__ import annotations

import os
import sys

from botocore.awsrequest import AWSResponse

sys.path.insert(0, os.path.dirname(__file__))
from kmslab.interop import boto3_client  # noqa: E402

from _timing import interleaved  # noqa: E402

ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CIPHERTEXT = bytes(range(256))[:184]
CANNED_BODY = (b'{"CiphertextBlob":"' + __import__("base64").b64encode(CIPHERTEXT)
               + b'","KeyId":"' + KEY_ARN.encode() + b'","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}')


class TrivialLab:
    """A backend that costs nothing: a fixed Encrypt result."""

    regions = ["us-east-1"]
    default_account = ACCOUNT

    def handle(self, operation, params, *, region, caller, source_ip="127.0.0.1", user_agent=""):
        return {"CiphertextBlob": CIPHERTEXT, "KeyId": KEY_ARN,
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


class _Raw:
    def stream(self, **_):
        yield CANNED_BODY


def canned_client():
    kms = boto3_client(TrivialLab())  # same construction, then answer before the adapter does
    headers = {"x-amzn-RequestId": "00000000-0000-0000-0000-000000000000",
               "Content-Type": "application/x-amz-json-1.1",
               "Content-Length": str(len(CANNED_BODY))}
    kms.meta.events.unregister("before-send.kms", unique_id="kmslab-in-process")
    kms.meta.events.register("before-send.kms",
                             lambda request, **_: AWSResponse(request.url, 200, headers, _Raw()))
    return kms


def main() -> None:
    plaintext = b"x" * 100
    reference = canned_client()
    adapter = boto3_client(TrivialLab())
    contenders = {
        "reference (canned before-send)": lambda: reference.encrypt(KeyId=KEY_ARN, Plaintext=plaintext),
        "adapter + trivial backend": lambda: adapter.encrypt(KeyId=KEY_ARN, Plaintext=plaintext),
    }
    try:
        import kmslab

        real = boto3_client(kmslab.Lab(seed=1))
        key_id = real.create_key()["KeyMetadata"]["KeyId"]
        contenders["adapter + kmslab.Lab"] = lambda: real.encrypt(KeyId=key_id, Plaintext=plaintext)
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"(kmslab.Lab not available: {exc})")
    results = interleaved(contenders, number=200, repeat=15, warmup=50)
    ref = results["reference (canned before-send)"]
    for name, seconds in results.items():
        print(f"{name:34s} median {seconds * 1e6:8.1f} us/call   ratio {seconds / ref:5.2f}x")


if __name__ == "__main__":
    main()
