"""Audit trail costs: (a) what recording adds to an in-process Encrypt, (b) building the
DataFrame of 1,000,000 records vs pandas building the same columns from a dict of lists.

    PYTHONPATH=src python benchmarks/bench_audit.py [--records 1000000]

Targets (issue 6): audit < 25% of the Encrypt call; frame build <= 1.3x the pandas
reference; frame memory <= 200 MB. Medians of repeated runs, measured in this run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import timedelta

import pandas as pd

import kmslab
from kmslab.operations import spec
from kmslab.service.pipeline import Call
from kmslab.service.request import Request


class NoAudit:
    """An audit log that records nothing (the baseline)."""

    def record(self, call, response, error):
        pass

    def record_service_event(self, *args, **kwargs):
        pass


def per_call(lab, kms, key, n: int) -> float:
    context = {"Department": "Engineering", "Project": "Alpha"}
    start = time.perf_counter()
    for _ in range(n):
        kms.encrypt(KeyId=key, Plaintext=b"attack at dawn", EncryptionContext=context)
    return (time.perf_counter() - start) / n * 1e6


def bench_encrypt(rounds: int = 7, n: int = 3000) -> None:
    lab = kmslab.Lab(seed=1)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    real = lab.audit
    with_audit, without = [], []
    per_call(lab, kms, key, 500)  # warm up
    for _ in range(rounds):
        lab.audit = real
        with_audit.append(per_call(lab, kms, key, n))
        lab.audit = NoAudit()
        without.append(per_call(lab, kms, key, n))
    lab.audit = real
    a, b = statistics.median(with_audit), statistics.median(without)
    share = (a - b) / a
    print(f"(a) Encrypt in process: {a:.1f} us with the audit trail, {b:.1f} us without")
    print(f"    audit share of the call: {share:.1%} (target < 25%)  "
          f"[{'OK' if share < 0.25 else 'OVER'}]")


def million(n: int):
    """A trail of ``n`` records through AuditLog.record, with a realistic mix of calls."""
    lab = kmslab.Lab(seed=2)
    kms = lab.client()
    keys = [kms.create_key()["KeyMetadata"] for _ in range(3)]
    svc = lab.kms_service(lab.default_account, lab.default_region)
    alice = lab.admin()
    contexts = [{"Department": d, "Project": p} for d in ("Engineering", "Sales", "Ops")
                for p in ("Alpha", "Beta")]
    prepared = []
    for i, op in enumerate(("Encrypt", "Decrypt", "GenerateDataKey", "Encrypt", "DescribeKey",
                            "Decrypt")):
        md = keys[i % 3]
        params = {"KeyId": md["KeyId"]}
        if op != "DescribeKey":
            params["EncryptionContext"] = contexts[i % len(contexts)]
        if op == "GenerateDataKey":
            params["KeySpec"] = "AES_256"
        if op == "Decrypt":
            params = {"CiphertextBlob": b"\0" * 64, "EncryptionContext": params["EncryptionContext"]}
        call = Call(svc, Request(op, params, alice, lab.default_region), spec(op))
        call.key = svc.keys[md["KeyId"]]
        response = {"KeyMaterialId": md["CurrentKeyMaterialId"]} if op != "DescribeKey" else {}
        prepared.append((call, response))
    failure = kmslab.errors.DisabledException(f"{keys[0]['Arn']} is disabled.")
    audit = lab.audit
    step = timedelta(seconds=1)
    start = time.perf_counter()
    for i in range(n):
        call, response = prepared[i % 6]
        call.now += step * 6
        call.request.request_id = lab.ids.request_id()
        if i % 50 == 49:
            audit.record(call, None, failure)
        else:
            audit.record(call, response, None)
    elapsed = time.perf_counter() - start
    return lab, elapsed


def reference_lists(df: pd.DataFrame) -> dict[str, list]:
    """The frame's values as plain Python lists (datetimes, str, bool, dict, None)."""
    out = {}
    for name in df.columns:
        s = df[name]
        if name == "eventTime":
            out[name] = list(s.dt.to_pydatetime())
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[name] = [None if v is None or v != v else v for v in s.astype(object)]
        else:
            out[name] = s.tolist()
    return out


def reference_build(lists: dict[str, list], dtypes) -> pd.DataFrame:
    """pandas building the same columns, with the same dtypes, from a dict of lists."""
    df = pd.DataFrame(lists)
    df["eventTime"] = pd.to_datetime(df["eventTime"], utc=True).astype("datetime64[ns, UTC]")
    for name, dtype in dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            if name in ("encryptionContext", "requestParameters"):
                continue  # dicts cannot be pandas categories without a hashable dict type
            df[name] = df[name].astype("category")
    return df


def bench_frame(n: int, rounds: int = 3) -> None:
    lab, record_time = million(n)
    print(f"(b) recorded {n:,} records in {record_time:.2f} s "
          f"({record_time / n * 1e6:.2f} us per record)")
    ours = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        df = lab.audit.frame()
        ours.append(time.perf_counter() - start)
    lists = reference_lists(df)
    dtypes = df.dtypes.to_dict()
    ref = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        reference_build(lists, dtypes)
        ref.append(time.perf_counter() - start)
    a, b = statistics.median(ours), statistics.median(ref)
    memory = df.memory_usage(deep=True).sum()
    print(f"    frame of {len(df):,} records: {a:.2f} s; pandas from a dict of lists: {b:.2f} s; "
          f"ratio {a / b:.2f}x (target <= 1.3x) [{'OK' if a / b <= 1.3 else 'OVER'}]")
    print(f"    frame memory (memory_usage(deep=True)): {memory / 1e6:.0f} MB "
          f"(target <= 200 MB) [{'OK' if memory <= 200e6 else 'OVER'}]")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_encrypt()
    bench_frame(args.records)
