"""Frames of keys, versions, aliases, grants and policies; plots; the workload simulator."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import kmslab  # noqa: E402
from kmslab import frames, plots  # noqa: E402


@pytest.fixture
def lab():
    lab = kmslab.Lab(seed=5)
    kms = lab.client()
    a = kms.create_key(Description="orders")["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=a["KeyId"])
    kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    b = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=b["KeyId"], PendingWindowInDays=7)
    return lab


def test_keys_frame_one_row_per_key_with_real_dtypes(lab):
    df = lab.frame("keys")
    assert len(df) == 3
    assert str(df["CreationDate"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(df["KeyState"].dtype, pd.CategoricalDtype)
    assert df["Enabled"].dtype == "boolean"
    orders = df[df["Description"] == "orders"].iloc[0]
    assert orders["Aliases"] == "alias/orders" and orders["KeyState"] == "Enabled"
    pending = df[df["KeyState"] == "PendingDeletion"].iloc[0]
    assert pending["DeletionDate"] == lab.clock.now() + pd.Timedelta(days=7)
    assert set(df["KeySpec"]) == {"SYMMETRIC_DEFAULT", "ECC_NIST_P256"}


def test_key_versions_aliases_policies_grants(lab):
    kms = lab.client()
    versions = frames.key_versions_frame(lab, "alias/orders")
    md = kms.describe_key(KeyId="alias/orders")["KeyMetadata"]
    assert list(versions["KeyMaterialId"]) == [md["CurrentKeyMaterialId"]]
    assert versions["Current"].all()
    aliases = lab.frame("aliases")
    assert list(aliases.dropna(subset=["TargetKeyId"])["AliasName"]) == ["alias/orders"]
    assert aliases["TargetKeyId"].isna().sum() > 0  # AWS's predefined alias/aws/... names
    policies = lab.frame("policies")
    assert len(policies) == 3 and set(policies["Effect"]) == {"Allow"}
    assert policies["Principal"].iloc[0] == {"AWS": "arn:aws:iam::111122223333:root"}
    grants = lab.frame("grants")
    assert list(grants.columns)[:2] == ["KeyId", "GrantId"]
    with pytest.raises(ValueError):
        lab.frame("nothing")


def test_simulate_drives_poisson_traffic_and_records_failures(lab):
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    use_keys = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*",
                                       "kms:ReEncrypt*", "kms:DescribeKey"], "Resource": "*"}]}
    for name in ("alice", "bob"):
        lab.add_user(name, policy=use_keys)
    start = lab.clock.now()
    summary = lab.simulate(1, rate=30, principals=["alice", "bob"], keys=[key],
                           mix={"Encrypt": 0.6, "Decrypt": 0.4}, encryption_context={"app": "web"},
                           progress=False)
    assert lab.clock.now() == start + pd.Timedelta(days=1)
    assert set(summary["principal"]) == {"alice", "bob"}
    total = int(summary["requests"].sum())
    assert 500 < total < 950  # Poisson, mean 720 in a day at 30 per hour
    assert summary["failed"].sum() == 0
    trail = lab.audit.filter(start=start, principal="alice")
    assert len(trail) == int(summary[summary["principal"] == "alice"]["requests"].sum())
    assert set(trail.frame()["encryptionContext"].astype(object).map(dict).map(str)) >= {"{'app': 'web'}"}
    kms.disable_key(KeyId=key)
    summary = lab.simulate(0.1, rate=30, principals=["alice"], keys=[key], progress=False)
    assert summary["succeeded"].sum() == 0 and set(summary["top_error"]) == {"DisabledException"}
    again = kmslab.Lab(seed=5)
    k2 = again.client().create_key()["KeyMetadata"]["Arn"]
    s1 = again.simulate(0.2, rate=20, keys=[k2], progress=False)
    other = kmslab.Lab(seed=5)
    k3 = other.client().create_key()["KeyMetadata"]["Arn"]
    assert other.simulate(0.2, rate=20, keys=[k3], progress=False).equals(s1)


def test_plots_return_axes(lab):
    kms = lab.client()
    lab.simulate(0.5, rate=10, progress=False, keys=[kms.describe_key(KeyId="alias/orders")["KeyMetadata"]["Arn"]])
    df = lab.audit.frame()
    for ax in (plots.activity(df, by="eventName", freq="1h"), plots.denied_vs_allowed(lab.audit),
               plots.key_state_table(), plots.key_state_transitions(),
               plots.key_versions_timeline(lab.frame("key_versions"))):
        assert hasattr(ax, "figure")
        matplotlib.pyplot.close(ax.figure)
