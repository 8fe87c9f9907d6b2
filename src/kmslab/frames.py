"""pandas views of a lab: keys, key versions, aliases, grants, key policies, the audit trail.

Every frame is built from the public API only (a boto3-shaped client, or a
Lab's public attributes), so the same functions work against real AWS KMS
with a boto3 client, and the calls they make show up in the audit trail as
they would in CloudTrail. Dtypes are real: UTC ``datetime64[ns, UTC]``,
categoricals for repeated strings, booleans, nullable integers.

    >>> from kmslab import frames
    >>> frames.keys_frame(lab)            # or lab.frame("keys")
    >>> frames.audit_frame(lab.audit)     # or lab.audit.frame()

Entry points: ``kmslab.frames.<name>_frame(lab_or_client)`` with options, or
``lab.frame("<name>")`` for the defaults; names: keys, key_versions, aliases,
grants, policies, audit.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["keys_frame", "key_versions_frame", "aliases_frame", "grants_frame",
           "policies_frame", "audit_frame", "frame", "FRAMES"]

_UTC_NS = "datetime64[ns, UTC]"


# ----------------------------------------------------------------- helpers

def _clients(source, region: str | None = None) -> list:
    """The clients to read from: the client itself, or one per (account, Region) of a lab."""
    if hasattr(source, "kms_service") and hasattr(source, "client"):  # a Lab
        pairs = sorted({(svc.account, svc.region) for svc in source.services()})
        if region is not None:
            pairs = [p for p in pairs if p[1] == region]
        return [source.client(region_name=r, account=a) for a, r in pairs]
    return [source]


def _pages(client, operation: str, result_key: str, **params) -> list:
    """Every item of a paginated List* call (follows NextMarker)."""
    method = getattr(client, operation)
    items: list = []
    while True:
        page = method(**params)
        items.extend(page.get(result_key, []))
        if not page.get("Truncated") or not page.get("NextMarker"):
            return items
        params["Marker"] = page["NextMarker"]


def _has(client, method: str) -> bool:
    return callable(getattr(client, method, None))


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _typed(df: pd.DataFrame, *, dates=(), categories=(), booleans=(), integers=()) -> pd.DataFrame:
    """Give a frame built from API rows its real dtypes."""
    for c in dates:
        if c in df:
            df[c] = pd.to_datetime(df[c], utc=True).astype(_UTC_NS)
    for c in categories:
        if c in df:
            df[c] = df[c].astype("category")
    for c in booleans:
        if c in df:
            df[c] = df[c].astype("boolean")
    for c in integers:
        if c in df:
            df[c] = df[c].astype("Int64")
    return df


def _key_list(client) -> list[dict]:
    return _pages(client, "list_keys", "Keys")


# ----------------------------------------------------------------- keys

_KEY_COLUMNS = ["KeyId", "Arn", "Aliases", "Description", "KeySpec", "KeyUsage", "KeyState",
                "Enabled", "Origin", "KeyManager", "CreationDate", "DeletionDate",
                "RotationEnabled", "RotationPeriodInDays", "NextRotationDate",
                "CurrentKeyMaterialId", "MultiRegion", "Account", "Region"]


def keys_frame(source, *, region: str | None = None) -> pd.DataFrame:
    """One row per KMS key (ListKeys + DescribeKey + ListAliases + GetKeyRotationStatus).

    ``source`` is a Lab (every account and Region it has a KMS in, or only
    ``region``) or a client (its Region). Rotation columns are filled for keys
    GetKeyRotationStatus answers (symmetric encryption keys) and NA otherwise.
    """
    rows = []
    for client in _clients(source, region):
        aliases: dict[str, list[str]] = {}
        for a in _pages(client, "list_aliases", "Aliases"):
            if a.get("TargetKeyId"):
                aliases.setdefault(a["TargetKeyId"], []).append(a["AliasName"])
        for entry in _key_list(client):
            md = client.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
            row = {c: md.get(c) for c in ("KeyId", "Arn", "Description", "KeySpec", "KeyUsage",
                                          "KeyState", "Enabled", "Origin", "KeyManager",
                                          "CreationDate", "DeletionDate", "CurrentKeyMaterialId",
                                          "MultiRegion")}
            row["Aliases"] = ", ".join(sorted(aliases.get(md["KeyId"], ())))
            row["Account"] = md.get("AWSAccountId")
            row["Region"] = md["Arn"].split(":")[3]
            row.update(_rotation(client, md))
            rows.append(row)
    df = pd.DataFrame(rows, columns=_KEY_COLUMNS)
    return _typed(df, dates=("CreationDate", "DeletionDate", "NextRotationDate"),
                  categories=("KeySpec", "KeyUsage", "KeyState", "Origin", "KeyManager",
                              "Account", "Region"),
                  booleans=("Enabled", "RotationEnabled", "MultiRegion"),
                  integers=("RotationPeriodInDays",))


def _rotation(client, md: dict) -> dict:
    out = {"RotationEnabled": None, "RotationPeriodInDays": None, "NextRotationDate": None}
    if md.get("KeySpec") != "SYMMETRIC_DEFAULT" or not _has(client, "get_key_rotation_status"):
        return out
    try:
        status = client.get_key_rotation_status(KeyId=md["KeyId"])
    except Exception as exc:  # UnsupportedOperation (imported, custom store), pending import...
        if _error_code(exc) is None:
            raise
        return out
    out["RotationEnabled"] = status.get("KeyRotationEnabled")
    out["RotationPeriodInDays"] = status.get("RotationPeriodInDays")
    out["NextRotationDate"] = status.get("NextRotationDate")
    return out


# ----------------------------------------------------------------- key versions

_VERSION_COLUMNS = ["KeyId", "KeyMaterialId", "KeyMaterialState", "Current", "Created",
                    "RotationType", "RotationDate", "ImportState", "ExpirationModel", "ValidTo",
                    "KeyMaterialDescription"]


def key_versions_frame(source, key_id: str | None = None, *,
                       region: str | None = None) -> pd.DataFrame:
    """One row per key material (backing key) of each key, or of ``key_id`` only.

    Uses ListKeyRotations with ``IncludeKeyMaterial=ALL_KEY_MATERIAL`` where
    the service has it (the first material, every rotation, pending imports);
    otherwise, or for keys that cannot rotate, the current material from
    DescribeKey. ``Created`` is the rotation date, or the key's creation date
    for its first material.
    """
    rows = []
    for client in _clients(source, region):
        ids = [key_id] if key_id is not None else [k["KeyId"] for k in _key_list(client)]
        for kid in ids:
            md = client.describe_key(KeyId=kid)["KeyMetadata"]
            rows.extend(_versions(client, md))
        if key_id is not None:
            break
    df = pd.DataFrame(rows, columns=_VERSION_COLUMNS)
    return _typed(df, dates=("Created", "RotationDate", "ValidTo"),
                  categories=("KeyMaterialState", "RotationType", "ImportState",
                              "ExpirationModel"),
                  booleans=("Current",))


def _versions(client, md: dict) -> list[dict]:
    current = md.get("CurrentKeyMaterialId")
    if _has(client, "list_key_rotations"):
        try:
            entries = _pages(client, "list_key_rotations", "Rotations", KeyId=md["KeyId"],
                             IncludeKeyMaterial="ALL_KEY_MATERIAL")
        except Exception as exc:  # keys that cannot rotate: UnsupportedOperationException
            if _error_code(exc) is None:
                raise
            entries = None
        if entries:
            return [{
                "KeyId": md["KeyId"], "KeyMaterialId": e.get("KeyMaterialId"),
                "KeyMaterialState": e.get("KeyMaterialState"),
                "Current": e.get("KeyMaterialState") == "CURRENT"
                if e.get("KeyMaterialState") else e.get("KeyMaterialId") == current,
                "Created": e.get("RotationDate") or md["CreationDate"],
                "RotationType": e.get("RotationType"), "RotationDate": e.get("RotationDate"),
                "ImportState": e.get("ImportState"), "ExpirationModel": e.get("ExpirationModel"),
                "ValidTo": e.get("ValidTo"), "KeyMaterialDescription": e.get("KeyMaterialDescription"),
            } for e in entries]
    return [{"KeyId": md["KeyId"], "KeyMaterialId": current,
             "KeyMaterialState": "CURRENT" if current else None, "Current": current is not None,
             "Created": md["CreationDate"], "RotationType": None, "RotationDate": None,
             "ImportState": None, "ExpirationModel": md.get("ExpirationModel"),
             "ValidTo": md.get("ValidTo"), "KeyMaterialDescription": None}]


# ----------------------------------------------------------------- aliases, grants, policies

def aliases_frame(source, *, region: str | None = None) -> pd.DataFrame:
    """One row per alias (ListAliases): AliasName, AliasArn, TargetKeyId, dates."""
    rows = []
    for client in _clients(source, region):
        for a in _pages(client, "list_aliases", "Aliases"):
            rows.append({"AliasName": a["AliasName"], "AliasArn": a.get("AliasArn"),
                         "TargetKeyId": a.get("TargetKeyId"), "CreationDate": a.get("CreationDate"),
                         "LastUpdatedDate": a.get("LastUpdatedDate"),
                         "Region": a.get("AliasArn", "::::").split(":")[3]})
    df = pd.DataFrame(rows, columns=["AliasName", "AliasArn", "TargetKeyId", "CreationDate",
                                     "LastUpdatedDate", "Region"])
    return _typed(df, dates=("CreationDate", "LastUpdatedDate"), categories=("Region",))


_GRANT_COLUMNS = ["KeyId", "GrantId", "Name", "GranteePrincipal", "RetiringPrincipal",
                  "IssuingAccount", "Operations", "Constraints", "CreationDate"]


def grants_frame(source, key_id: str | None = None, *, region: str | None = None) -> pd.DataFrame:
    """One row per grant (ListGrants on each key, or on ``key_id``); empty if the service
    has no grants. ``Operations`` is a tuple; ``Constraints`` a dict or None."""
    rows = []
    for client in _clients(source, region):
        if not _has(client, "list_grants"):
            continue
        ids = [key_id] if key_id is not None else [k["KeyId"] for k in _key_list(client)]
        for kid in ids:
            for g in _pages(client, "list_grants", "Grants", KeyId=kid):
                rows.append({"KeyId": g.get("KeyId", kid).rsplit("/", 1)[-1],
                             "GrantId": g.get("GrantId"), "Name": g.get("Name"),
                             "GranteePrincipal": g.get("GranteePrincipal"),
                             "RetiringPrincipal": g.get("RetiringPrincipal"),
                             "IssuingAccount": g.get("IssuingAccount"),
                             "Operations": tuple(g.get("Operations") or ()),
                             "Constraints": g.get("Constraints"),
                             "CreationDate": g.get("CreationDate")})
        if key_id is not None:
            break
    df = pd.DataFrame(rows, columns=_GRANT_COLUMNS)
    return _typed(df, dates=("CreationDate",), categories=("IssuingAccount",))


_POLICY_COLUMNS = ["KeyId", "PolicyName", "Sid", "Effect", "Principal", "Action", "Resource",
                   "Condition"]


def policies_frame(source, key_id: str | None = None, *,
                   region: str | None = None) -> pd.DataFrame:
    """One row per statement of each key policy (GetKeyPolicy), or of ``key_id``'s.

    Principal, Action, Resource and Condition keep the policy's JSON values
    (str, list or dict); NotPrincipal / NotAction / NotResource statements
    get those columns too.
    """
    rows = []
    for client in _clients(source, region):
        ids = [key_id] if key_id is not None else [k["KeyId"] for k in _key_list(client)]
        for kid in ids:
            policy = client.get_key_policy(KeyId=kid, PolicyName="default")
            doc = json.loads(policy["Policy"])
            statements = doc.get("Statement", [])
            if isinstance(statements, dict):
                statements = [statements]
            for st in statements:
                row = {"KeyId": kid.rsplit("/", 1)[-1], "PolicyName": policy.get("PolicyName", "default")}
                for field in ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                              "Resource", "NotResource", "Condition"):
                    if field in st or field in _POLICY_COLUMNS:
                        row[field] = st.get(field)
                rows.append(row)
        if key_id is not None:
            break
    extra = [c for c in ("NotPrincipal", "NotAction", "NotResource")
             if any(c in r and r[c] is not None for r in rows)]
    columns = _POLICY_COLUMNS[:5] + extra[:1] + _POLICY_COLUMNS[5:6] + extra[1:2] + \
        _POLICY_COLUMNS[6:7] + extra[2:] + _POLICY_COLUMNS[7:]
    df = pd.DataFrame(rows, columns=columns)
    return _typed(df, categories=("Effect", "PolicyName"))


# ----------------------------------------------------------------- the audit trail

def _decode(codes: np.ndarray, labels: list, missing: Any = None) -> pd.Categorical:
    """Pool codes -> a Categorical of the pool's labels (each distinct label once).

    ``labels[i]`` is the label of pool code ``i`` (None: missing); code -1
    (absent) takes ``missing``.
    """
    unique: dict = {}
    remap = np.empty(len(labels) + 1, dtype=np.int32)
    for i, label in enumerate(labels):
        remap[i] = -1 if label is None else unique.setdefault(label, len(unique))
    remap[-1] = -1 if missing is None else unique.setdefault(missing, len(unique))
    values = list(unique)
    if values and all(isinstance(v, str) for v in values):
        categories = pd.Index(values)
    else:
        categories = pd.Index(values, dtype=object)
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def _expand_runs(starts, values, n: int) -> np.ndarray:
    """Per-row values from runs (from row ``starts[i]`` on, ``values[i]``) over ``n`` rows."""
    starts = np.frombuffer(starts, dtype=np.int64) if len(starts) else np.empty(0, np.int64)
    values = np.frombuffer(values, dtype=np.int64) if len(values) else np.empty(0, np.int64)
    return np.repeat(values, np.diff(np.append(starts, n)))


def _times(time_us: np.ndarray) -> pd.Series:
    ns = (time_us * 1000).view("datetime64[ns]")
    return pd.Series(pd.DatetimeIndex(ns).tz_localize("UTC"))


def audit_frame(audit, *, request_id: bool = True, expand_context: bool = False) -> pd.DataFrame:
    """The audit trail (a trail or a filtered view) as a DataFrame, one row per record.

    Columns: eventTime (datetime64[ns, UTC]); eventName, eventType, errorCode,
    errorMessage, principal (user name, role/session, root, or the AWS
    service), userIdentity.type/.arn/.accountId/.invokedBy, awsRegion,
    recipientAccountId, sourceIPAddress, userAgent, keyId, keyArn (the key
    the call used; ReEncrypt: the destination), sourceKeyArn (ReEncrypt's
    source), encryptionAlgorithm, keyMaterialId (categoricals); readOnly and
    success (bool); encryptionContext and requestParameters (read-only dicts,
    empty when absent; categorical, so each distinct dict is stored once);
    responseElements (dict or None); eventID (str); requestID (str: the
    ``ResponseMetadata.RequestId`` of the call, to join with; ``request_id=False``
    leaves it out); with ``expand_context=True`` one ``encryptionContext.<key>``
    column per context key. Oldest first, newest last.
    """
    from .frozen import FrozenDict
    t = audit.table()
    rows = t.rows
    whole = isinstance(rows, range) and rows.start == 0 and rows.step == 1
    pick = slice(0, rows.stop) if whole else np.asarray(rows, dtype=np.int64)

    def codes(col, dtype=np.int32) -> np.ndarray:
        return np.frombuffer(col, dtype=dtype)[pick] if len(col) else np.empty(0, dtype)

    shape_fields = np.array(t.shapes, dtype=np.int32).reshape(-1, 6)
    shape = codes(t.shape)
    ev, org, res, par, add, err = (shape_fields[:, i][shape] for i in range(6))
    empty = FrozenDict()
    params = t.params_pool
    origins = t.origins
    # the KMS keys a record names (an alias operation names the alias's ARN too)
    key_arns = [[a for a in r.arns if not isinstance(a, str) or ":alias/" not in a]
                for r in t.resources_pool]
    columns: dict[str, Any] = {
        "eventTime": _times(_expand_runs(t.time_starts, t.time_values, len(t.shape))[pick]),
        "eventName": _decode(ev, [e.name for e in t.events]),
        "eventType": _decode(ev, [e.type for e in t.events]),
        "readOnly": np.array([e.read_only for e in t.events] + [False], dtype=bool)[ev],
        "success": err == -1,
        "errorCode": _decode(err, [e[0] for e in t.errors]),
        "errorMessage": _decode(err, [e[1] for e in t.errors]),
        "principal": _decode(org, [o.name for o in origins]),
        "userIdentity.type": _decode(org, [o.type for o in origins]),
        "userIdentity.arn": _decode(org, [o.arn for o in origins]),
        "userIdentity.accountId": _decode(org, [o.identity.get("accountId") for o in origins]),
        "userIdentity.invokedBy": _decode(org, [o.invoked_by for o in origins]),
        "awsRegion": _decode(org, [o.region for o in origins]),
        "recipientAccountId": _decode(org, [o.account for o in origins]),
        "sourceIPAddress": _decode(org, [o.source_ip for o in origins]),
        "userAgent": _decode(org, [o.user_agent for o in origins]),
        "keyId": _decode(res, [k[-1].rsplit("/", 1)[-1] if k and k[-1] else None
                               for k in key_arns]),
        "keyArn": _decode(res, [k[-1] if k else None for k in key_arns]),
        "sourceKeyArn": _decode(res, [k[0] if len(k) > 1 else None for k in key_arns]),
        "encryptionAlgorithm": _decode(par, [p.get("encryptionAlgorithm")
                                             or p.get("destinationEncryptionAlgorithm")
                                             for p in params]),
        "keyMaterialId": _decode(add, [a.get("keyMaterialId") or a.get("destinationKeyMaterialId")
                                       for a in t.additional_pool]),
        "encryptionContext": _decode(par, [_context(p, empty) for p in params], missing=empty),
        "requestParameters": _decode(par, [p or empty for p in params], missing=empty),
    }
    row_ids = rows if whole else pick.tolist()  # type: ignore[union-attr]  # an array here
    responses = t.responses
    if whole:
        column = [None] * len(rows)
        for row, value in responses.items():
            column[row] = value
    else:
        column = [responses.get(i) for i in row_ids]
    columns["responseElements"] = column
    columns["eventID"] = [t.event_id(i) for i in row_ids]
    if request_id:
        columns["requestID"] = [t.request_id(i) for i in row_ids]
    if expand_context:
        names = sorted({k for p in params for k in _context(p, empty)})
        for name in names:
            columns[f"encryptionContext.{name}"] = _decode(
                par, [_context(p, empty).get(name) for p in params])
    df = pd.DataFrame(columns)
    if not t.sorted:
        df = df.sort_values("eventTime", kind="stable", ignore_index=True)
    return df


def _context(params, empty):
    if not params:
        return empty
    return params.get("encryptionContext") or params.get("sourceEncryptionContext") or empty


# ----------------------------------------------------------------- one entry point

FRAMES = {"keys": keys_frame, "key_versions": key_versions_frame, "aliases": aliases_frame,
          "grants": grants_frame, "policies": policies_frame}


def frame(lab, what: str = "keys") -> pd.DataFrame:
    """``lab.frame(what)``: ``keys``, ``key_versions``, ``aliases``, ``grants``, ``policies``
    or ``audit``, with each function's defaults."""
    if what == "audit":
        return audit_frame(lab.audit)
    try:
        return FRAMES[what](lab)
    except KeyError:
        raise ValueError(f"no frame named {what!r}; choose from "
                         f"{', '.join([*FRAMES, 'audit'])}") from None
