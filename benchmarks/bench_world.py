"""The world around KMS: cost of keys in custom key stores, S3 Bucket Keys, fault hooks.

Run: python benchmarks/bench_world.py
Prints medians per call and ratios against an ordinary (AWS_KMS) key measured in the same run.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kmslab  # noqa: E402

from _timing import fmt, per_call  # noqa: E402


def main() -> None:
    data = os.urandom(1024)
    lab = kmslab.Lab(seed=1)
    kms = lab.client()
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    cluster = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster())
    store = kms.create_custom_key_store(
        CustomKeyStoreName="bench", CloudHsmClusterId=cluster.cluster_id,
        TrustAnchorCertificate=cluster.trust_anchor_certificate,
        KeyStorePassword="kmsPswd1")["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    hsm_key = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store)["KeyMetadata"]["KeyId"]
    proxy = lab.create_xks_proxy(external_keys=("bench",))
    xks = kms.create_custom_key_store(
        CustomKeyStoreName="xks", CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=proxy.uri_endpoint, XksProxyUriPath=proxy.uri_path,
        XksProxyAuthenticationCredential=proxy.credential,
        XksProxyConnectivity="PUBLIC_ENDPOINT")["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=xks)
    lab.clock.advance(minutes=1)
    xks_key = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=xks,
                             XksKeyId="bench")["KeyMetadata"]["KeyId"]

    base = per_call(lambda: kms.encrypt(KeyId=plain, Plaintext=data), number=2000)
    rows = [("Encrypt, AWS_KMS key", base)]
    rows.append(("Encrypt, CloudHSM key store key",
                 per_call(lambda: kms.encrypt(KeyId=hsm_key, Plaintext=data), number=2000)))
    rows.append(("Encrypt, external key store key",
                 per_call(lambda: kms.encrypt(KeyId=xks_key, Plaintext=data), number=2000)))
    lab.faults.error_rate(0.0)  # a hook that never fires: the cost of having faults installed
    rows.append(("Encrypt, AWS_KMS key, fault hook installed",
                 per_call(lambda: kms.encrypt(KeyId=plain, Plaintext=data), number=2000)))
    lab.faults.clear()

    s3 = lab.service("s3")
    s3.create_bucket(Bucket="bench")
    counter = iter(range(10**9))
    rows.append(("S3 put_object SSE-KMS (per-object data key)", per_call(
        lambda: s3.put_object(Bucket="bench", Key=f"o{next(counter)}", Body=data,
                              ServerSideEncryption="aws:kms", SSEKMSKeyId=plain), number=500)))
    rows.append(("S3 put_object SSE-KMS with Bucket Key", per_call(
        lambda: s3.put_object(Bucket="bench", Key=f"o{next(counter)}", Body=data,
                              ServerSideEncryption="aws:kms", SSEKMSKeyId=plain,
                              BucketKeyEnabled=True), number=500)))
    for label, seconds in rows:
        print(f"{label:48s} {fmt(seconds)}   x{seconds / base:5.2f}")


if __name__ == "__main__":
    main()
