"""A rich lab (everything the lab can hold) and a walk over every public observable.

Shared by the snapshot round-trip tests and the seed-file tests.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

from kmslab import byok, errors
from kmslab.frames import FRAMES

ACCOUNT = "111122223333"
OTHER = "444455556666"
EXTRA_SPECS = [("RSA_2048", "ENCRYPT_DECRYPT"), ("RSA_3072", "SIGN_VERIFY"),
               ("ECC_NIST_P256", "SIGN_VERIFY"), ("ECC_NIST_P384", "KEY_AGREEMENT"),
               ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), ("ML_DSA_44", "SIGN_VERIFY"),
               ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"), ("HMAC_256", "GENERATE_VERIFY_MAC")]


def build_rich_lab(lab) -> dict:
    """Drive ``lab`` through every feature; return what must still work after a load."""
    kms, iam = lab.client(), lab.client("iam")
    lab.add_account(OTHER, name="partner")
    keep: dict = {"keys": {}}

    # IAM: users with identity policies, a role with a trust policy, access keys, a session
    alice = lab.add_user("alice", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    lab.add_user("bob")
    iam.put_user_policy(UserName="bob", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kms:Describe*", "kms:List*"], "Resource": "*"}]}))
    keep["alice_key"] = iam.create_access_key(UserName="alice")["AccessKey"]
    role = lab.add_role("auditor", trusted=["alice"], policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})
    creds = lab.client("sts", as_="alice").assume_role(RoleArn=role.arn, RoleSessionName="audit-1")
    keep["session_key"] = creds["Credentials"]["AccessKeyId"]

    # a symmetric key with a custom policy, tags, aliases, grants, rotations
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM policies", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Alice may encrypt", "Effect": "Allow", "Principal": {"AWS": alice.arn},
         "Action": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:app": "payroll"}}}]}
    app = kms.create_key(Description="payroll", Policy=json.dumps(policy),
                         Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=app, Tags=[{"TagKey": "cost-center", "TagValue": "42"}])
    kms.create_alias(AliasName="alias/payroll", TargetKeyId=app)
    kms.create_alias(AliasName="alias/old-payroll", TargetKeyId=app)
    kms.enable_key_rotation(KeyId=app, RotationPeriodInDays=90)
    keep["blob_v1"] = kms.encrypt(KeyId="alias/payroll", Plaintext=b"salary table",
                                  EncryptionContext={"app": "payroll"})["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=app)
    lab.clock.advance(minutes=1)
    keep["blob_v2"] = kms.encrypt(KeyId=app, Plaintext=b"after rotation")["CiphertextBlob"]
    grant = kms.create_grant(KeyId=app, GranteePrincipal=lab.principal("bob").arn,
                             Operations=["Decrypt", "Encrypt"], Name="bob-decrypt",
                             Constraints={"EncryptionContextSubset": {"app": "payroll"}})
    keep["grant_token"] = grant["GrantToken"]
    retired = kms.create_grant(KeyId=app, GranteePrincipal=lab.principal("alice").arn,
                               Operations=["Encrypt"], RetiringPrincipal=lab.principal("bob").arn)
    kms.revoke_grant(KeyId=app, GrantId=retired["GrantId"])
    keep["keys"]["app"] = app

    # every other key type, each used once
    for spec, usage in EXTRA_SPECS:
        key_id = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=f"{spec} {usage}")["KeyMetadata"]["KeyId"]
        keep["keys"][spec] = key_id
    keep["rsa_blob"] = kms.encrypt(KeyId=keep["keys"]["RSA_2048"], Plaintext=b"rsa secret",
                                   EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    keep["signatures"] = {}
    for spec, alg in (("RSA_3072", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256"),
                      ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"), ("ML_DSA_44", "ML_DSA_SHAKE_256")):
        keep["signatures"][spec] = (alg, kms.sign(KeyId=keep["keys"][spec], Message=b"signed",
                                                  SigningAlgorithm=alg)["Signature"])
    keep["mac"] = kms.generate_mac(KeyId=keep["keys"]["HMAC_256"], Message=b"mac me",
                                   MacAlgorithm="HMAC_SHA_256")["Mac"]
    kem = kms.encapsulate(KeyId=keep["keys"]["ML_KEM_768"], EncapsulationAlgorithm="ML_KEM")
    keep["kem"] = (kem["SharedSecretCiphertextBlob"], kem["SharedSecret"])
    keep["data_key"] = kms.generate_data_key(KeyId=app, KeySpec="AES_256",
                                             EncryptionContext={"app": "payroll"})

    # imported material that expires, an import token outstanding, a key waiting for import
    ext = kms.create_key(Origin="EXTERNAL", Description="byok")["KeyMetadata"]["KeyId"]
    byok.import_key_material(kms, ext, os.urandom(32), wrapping_key_spec="RSA_2048",
                             valid_to=lab.clock.now() + timedelta(days=30))
    keep["ext_blob"] = kms.encrypt(KeyId=ext, Plaintext=b"imported")["CiphertextBlob"]
    waiting = kms.create_key(Origin="EXTERNAL", Description="waiting")["KeyMetadata"]["KeyId"]
    kms.get_parameters_for_import(KeyId=waiting, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                  WrappingKeySpec="RSA_2048")
    keep["keys"].update(ext=ext, waiting=waiting)
    lab.metrics.put_metric_alarm("reimport-soon", "SecondsUntilKeyMaterialExpiration",
                                 {"KeyId": ext}, threshold=20 * 86400)

    # a key in the partner account and one in another Region
    keep["keys"]["partner"] = lab.client(account=OTHER).create_key()["KeyMetadata"]["KeyId"]
    keep["keys"]["west"] = lab.client(region_name="eu-west-1").create_key()["KeyMetadata"]["KeyId"]

    # custom key stores: a CloudHSM-backed key and an external (XKS) key
    cluster = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster(hsm_count=2))
    hsm_store = kms.create_custom_key_store(
        CustomKeyStoreName="hsm-store", CloudHsmClusterId=cluster.cluster_id,
        TrustAnchorCertificate=cluster.trust_anchor_certificate,
        KeyStorePassword="kmsPswd1")["CustomKeyStoreId"]
    proxy = lab.create_xks_proxy(external_keys=("ext-1", "ext-2"))
    xks_store = kms.create_custom_key_store(
        CustomKeyStoreName="xks", CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=proxy.uri_endpoint, XksProxyUriPath=proxy.uri_path,
        XksProxyAuthenticationCredential=proxy.credential,
        XksProxyConnectivity="PUBLIC_ENDPOINT")["CustomKeyStoreId"]
    for store in (hsm_store, xks_store):
        kms.connect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    keep["keys"]["hsm"] = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=hsm_store)["KeyMetadata"]["KeyId"]
    keep["keys"]["xks"] = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=xks_store,
                                         XksKeyId="ext-1")["KeyMetadata"]["KeyId"]
    keep["hsm_blob"] = kms.encrypt(KeyId=keep["keys"]["hsm"], Plaintext=b"in the hsm")["CiphertextBlob"]
    keep["xks_blob"] = kms.encrypt(KeyId=keep["keys"]["xks"], Plaintext=b"hold your own")["CiphertextBlob"]

    # a multi-Region key with a replica; an integrated service with an AWS managed key
    primary = kms.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=primary, ReplicaRegion="us-west-2", Description="replica")
    keep["keys"]["mrk"] = primary
    keep["mrk_blob"] = kms.encrypt(KeyId=primary, Plaintext=b"everywhere")["CiphertextBlob"]
    s3 = lab.service("s3")
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="q1.csv", Body=b"a,b\n1,2\n", ServerSideEncryption="aws:kms")

    # a key pending deletion, a disabled key, a failed call in the audit trail
    doomed = kms.create_key(Description="doomed")["KeyMetadata"]["KeyId"]
    keep["doomed_blob"] = kms.encrypt(KeyId=doomed, Plaintext=b"soon gone")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    off = kms.create_key(Description="off")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=off)
    try:
        kms.encrypt(KeyId=off, Plaintext=b"x")
    except errors.DisabledException:
        pass
    keep["keys"].update(doomed=doomed, off=off)
    keep["keys"]["partner_local"] = kms.create_key(Description="rotates on demand")["KeyMetadata"]["KeyId"]
    lab.clock.advance(days=2)
    return keep


def start_actions_in_flight(lab, keep: dict) -> None:
    """Leave one of every kind of action kmslab schedules waiting on the clock."""
    kms = lab.client()
    lab.grant_delay = timedelta(minutes=2)
    kms.create_grant(KeyId=keep["keys"]["app"], GranteePrincipal=lab.principal("alice").arn,
                     Operations=["Encrypt"])                       # in effect in 2 minutes
    lab.on_demand_rotation_delay = timedelta(hours=1)
    kms.rotate_key_on_demand(KeyId=keep["keys"]["partner_local"])  # done in an hour
    xks = kms.describe_key(KeyId=keep["keys"]["xks"])["KeyMetadata"]["CustomKeyStoreId"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=xks)
    kms.connect_custom_key_store(CustomKeyStoreId=xks)            # connecting for a minute
    kms.replicate_key(KeyId=keep["keys"]["mrk"], ReplicaRegion="eu-central-1")  # creating
    kms.update_primary_region(KeyId=keep["keys"]["mrk"], PrimaryRegion="us-west-2")  # updating


def _call(fn, **params):
    try:
        return fn(**params)
    except errors.KMSError as exc:
        return ("error", type(exc).__name__, str(exc))


def observables(lab) -> dict:
    """Everything a user can read through the public API, in a fixed order."""
    out: dict = {"now": lab.clock.now(), "repr": repr(lab),
                 "pending": [(e.when, e.label) for e in lab.clock.pending()]}
    for account in sorted(lab.accounts):
        for region in sorted(lab.regions):
            kms = lab.client(account=account, region_name=region)
            keys = [k["KeyId"] for k in kms.list_keys()["Keys"]]
            out[account, region] = section = {"keys": keys, "aliases": kms.list_aliases()}
            for key in keys:
                reads = {"describe": _call(kms.describe_key, KeyId=key),
                         "policies": _call(kms.list_key_policies, KeyId=key),
                         "policy": _call(kms.get_key_policy, KeyId=key),
                         "rotation": _call(kms.get_key_rotation_status, KeyId=key),
                         "rotations": _call(kms.list_key_rotations, KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL"),
                         "tags": _call(kms.list_resource_tags, KeyId=key),
                         "grants": _call(kms.list_grants, KeyId=key),
                         "aliases": _call(kms.list_aliases, KeyId=key),
                         "public": _call(kms.get_public_key, KeyId=key)}
                store = reads["describe"]["KeyMetadata"].get("CustomKeyStoreId") \
                    if isinstance(reads["describe"], dict) else None
                if store:
                    reads["store"] = kms.describe_custom_key_stores(
                        CustomKeyStoreId=store)
                if hasattr(kms, "get_key_last_usage"):
                    reads["last_usage"] = _call(kms.get_key_last_usage, KeyId=key)
                section[key] = reads
            section["stores"] = kms.describe_custom_key_stores()
        iam = lab.client("iam", account=account)
        users = iam.list_users()["Users"]
        out[account, "iam"] = [
            (u, iam.list_user_policies(UserName=u["UserName"]),
             [iam.get_user_policy(UserName=u["UserName"], PolicyName=p)
              for p in iam.list_user_policies(UserName=u["UserName"])["PolicyNames"]],
             iam.list_access_keys(UserName=u["UserName"])) for u in users]
        out[account, "roles"] = [
            (iam.get_role(RoleName=r.name), [iam.get_role_policy(RoleName=r.name, PolicyName=p)
                                             for p in sorted(r.policies)])
            for r in lab.iam.roles.values() if r.account_id == account]
    out["retirable"] = [lab.client().list_retirable_grants(RetiringPrincipal=u.arn)
                        for u in lab.iam.users.values()]
    s3 = lab.service("s3")
    out["s3"] = [(name, [(key, s3.head_object(Bucket=name, Key=key), s3.get_object(Bucket=name, Key=key)["Body"].read())
                         for key in sorted(bucket.objects)])
                 for name, bucket in sorted(lab.s3.buckets.items())]  # (the lab's S3 has no ListBuckets)
    out["frames"] = {what: lab.frame(what).to_dict("list") for what in [*FRAMES, "audit"]}
    out["audit"] = lab.audit.records()
    out["events"] = list(lab.events)
    out["events_frame"] = lab.events.frame().to_dict("list")
    out["clusters"] = [(c.cluster_id, c.state, [(h.hsm_id, h.state) for h in c.hsms],
                        c.key_handles(), c.audit_log) for c in lab.cloudhsm.clusters.values()]
    out["proxies"] = [(p.uri_endpoint, p.uri_path, p.reachable, sorted(p.keys), p.audit_log)
                      for p in lab.xks.proxies.values()]
    out["settings"] = (lab.key_quota, lab.grant_delay, lab.on_demand_rotation_delay, lab.regions,
                       lab.default_account, lab.default_region, lab.seed, lab.ids.seeded,
                       len(lab.grant_tokens), lab.audit.tracking_start)
    out["metrics"] = (lab.metrics.list_metrics(), lab.metrics.describe_alarms(),
                      lab.metrics.frame().to_dict("list"),
                      [lab.metrics.alarm_history(a["AlarmName"]) for a in lab.metrics.describe_alarms()])
    if "alias/payroll" in [a["AliasName"] for a in lab.client().list_aliases()["Aliases"]]:
        out["explain"] = lab.explain("alice", "kms:Encrypt", "alias/payroll", {"app": "payroll"}).text()
    return out
