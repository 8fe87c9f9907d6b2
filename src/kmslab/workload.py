"""A workload simulator: clients calling KMS over simulated time (``lab.simulate(...)``).

Requests arrive as a Poisson process (exponential gaps at ``rate`` per hour),
each from a principal drawn uniformly, on a key drawn uniformly, with an
operation drawn from ``mix``. The lab clock advances to each arrival, so
rotations, deletions and expiries scheduled in between fire on time. Failures
(a disabled key, a key pending deletion, a denied request) are recorded in the
audit trail and counted, never raised. The random choices come from a
generator seeded from the lab's seed, so a seeded lab simulates the same
traffic every run; the plaintexts are random bytes from the OS.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from datetime import timedelta

import pandas as pd

from . import errors
from .identity import Principal

__all__ = ["simulate", "OPERATIONS", "DEFAULT_MIX"]

#: operations the simulator can drive
OPERATIONS = ("Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
              "ReEncrypt", "DescribeKey")
DEFAULT_MIX = {"Encrypt": 0.5, "Decrypt": 0.4, "GenerateDataKey": 0.1}


def _principal(lab, who) -> Principal:
    """A Principal for ``who`` (a Principal, an ARN or a user name); an IAM user is added to
    the lab's default account when the lab does not know the name."""
    if isinstance(who, Principal):
        return who
    try:
        return lab.principal(who)
    except errors.KMSError:
        pass
    if callable(getattr(lab, "add_user", None)):
        lab.add_user(who)
        return lab.principal(who)
    account = lab.default_account
    name = who.rsplit("/", 1)[-1]
    return Principal(f"arn:aws:iam::{account}:user/{name}", account, "IAMUser", name,
                     "AIDA" + lab.ids.hex(9).upper()[:17])


def _progress(total: float, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=round(total, 2), unit="h", desc="simulating", leave=False,
                bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} simulated hours")


def simulate(lab, duration: timedelta | float = 1.0, *, rate: float = 100.0,
             mix: dict[str, float] | None = None, principals: Iterable | None = None,
             keys: Iterable[str] | None = None, encryption_context: dict | None = None,
             plaintext_size: int = 64, region: str | None = None,
             progress: bool = True, cloudtrail_logs: str | os.PathLike | None = None
             ) -> pd.DataFrame:
    """Drive traffic through ``lab`` and return one summary row per principal and operation.

    ``duration``: a timedelta, or a number of days. ``rate``: mean requests
    per hour (Poisson arrivals). ``mix``: operation -> weight (normalized),
    from :data:`OPERATIONS`; Decrypt and ReEncrypt use ciphertexts the
    simulation produced earlier (an Encrypt is sent instead while there is none).
    ``principals``: Principals, ARNs or user names (default: the admin).
    ``keys``: key ids, ARNs or aliases (default: a new symmetric key).
    ``encryption_context`` is sent with every request. ``progress`` shows a
    tqdm bar in simulated hours (notebook-aware). ``cloudtrail_logs``: a
    directory the simulation's audit records are delivered to as they are made,
    in CloudTrail's log file layout (:mod:`kmslab.audit_files`), instead of
    staying in ``lab.audit``: memory stays the same however long the run.

    The summary columns: principal, operation, requests, succeeded, failed,
    and the most frequent errorCode.
    """
    mix = dict(mix or DEFAULT_MIX)
    unknown = set(mix) - set(OPERATIONS)
    if unknown:
        raise ValueError(f"the simulator cannot drive {sorted(unknown)}; choose from {OPERATIONS}")
    if rate <= 0:
        raise ValueError("rate must be positive (requests per hour)")
    span = duration if isinstance(duration, timedelta) else timedelta(days=duration)
    rng = random.Random(int(lab.ids.hex(8), 16))  # seeded labs simulate the same traffic
    callers = [_principal(lab, p) for p in principals] if principals else [lab.admin()]
    clients = [lab.client(region_name=region, as_=p) for p in callers]
    if keys is None:
        keys = [lab.client(region_name=region).create_key(
            Description="created by simulate()")["KeyMetadata"]["Arn"]]
    keys = list(keys)
    ops, weights = zip(*mix.items(), strict=True)
    context = dict(encryption_context) if encryption_context else None
    extra = {"EncryptionContext": context} if context else {}
    ciphertexts: dict[str, list[bytes]] = {k: [] for k in keys}
    counts: dict[tuple[str, str], list] = {}

    start = lab.clock.now()
    end = start + span
    bar = _progress(span.total_seconds() / 3600, progress)
    now = start
    delivery = None
    if cloudtrail_logs is not None:  # the records go to log files as they are made
        from .audit_files import Delivery
        delivery = Delivery(lab.audit, cloudtrail_logs)
    try:
        while True:
            now += timedelta(hours=rng.expovariate(rate))
            if now >= end:
                break
            lab.clock.advance_to(now)
            if bar is not None:
                bar.update(round((now - start).total_seconds() / 3600 - bar.n, 2))
            who = rng.randrange(len(clients))
            key = keys[rng.randrange(len(keys))]
            op = rng.choices(ops, weights)[0]
            if op in ("Decrypt", "ReEncrypt") and not ciphertexts[key]:
                op = "Encrypt"  # nothing to decrypt yet
            error = _call(clients[who], op, key, ciphertexts, extra, plaintext_size)
            tally = counts.setdefault((_name(callers[who]), op), [0, 0, {}])
            tally[0] += 1
            if error is None:
                tally[1] += 1
            else:
                tally[2][error] = tally[2].get(error, 0) + 1
            if delivery is not None:
                delivery.check()
        lab.clock.advance_to(end)
    finally:
        if bar is not None:
            bar.close()
        if delivery is not None:
            delivery.finish()
    rows = [{"principal": p, "operation": op, "requests": n, "succeeded": ok, "failed": n - ok,
             "top_error": max(errs, key=errs.get) if errs else None}
            for (p, op), (n, ok, errs) in sorted(counts.items())]
    df = pd.DataFrame(rows, columns=["principal", "operation", "requests", "succeeded", "failed",
                                     "top_error"])
    for c in ("principal", "operation", "top_error"):
        df[c] = df[c].astype("category")
    for c in ("requests", "succeeded", "failed"):
        df[c] = df[c].astype("int64")
    return df


def _name(p: Principal) -> str:
    return "root" if p.type == "Root" else p.arn.rsplit("/", 1)[-1]


def _call(client, op: str, key: str, ciphertexts: dict, extra: dict, size: int) -> str | None:
    """One request; returns the AWS error code if it failed (the audit trail has the rest)."""
    try:
        if op == "Encrypt":
            out = client.encrypt(KeyId=key, Plaintext=os.urandom(size), **extra)
            _keep(ciphertexts[key], out["CiphertextBlob"])
        elif op == "Decrypt":
            client.decrypt(CiphertextBlob=ciphertexts[key][-1], **extra)
        elif op == "GenerateDataKey":
            out = client.generate_data_key(KeyId=key, KeySpec="AES_256", **extra)
            _keep(ciphertexts[key], out["CiphertextBlob"])
        elif op == "GenerateDataKeyWithoutPlaintext":
            out = client.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256", **extra)
            _keep(ciphertexts[key], out["CiphertextBlob"])
        elif op == "ReEncrypt":
            ctx = extra.get("EncryptionContext")
            params = {"SourceEncryptionContext": ctx, "DestinationEncryptionContext": ctx} if ctx else {}
            client.re_encrypt(CiphertextBlob=ciphertexts[key][-1], DestinationKeyId=key, **params)
        elif op == "DescribeKey":
            client.describe_key(KeyId=key)
    except errors.KMSError as exc:
        return exc.code
    return None


def _keep(pool: list, blob: bytes, limit: int = 32) -> None:
    pool.append(blob)
    if len(pool) > limit:
        del pool[0]
