"""The audit trail: one immutable CloudTrail-shaped record per request, stored as columns.

Every request, success or failure, and every action the service takes by
itself (rotation, deletion, expiry), is recorded. Records are kept column by
column (cheap to append, fast to turn into a DataFrame) and rendered as
CloudTrail ``Records`` on demand. Plaintext, ciphertext and key material are
never stored: only the request members CloudTrail logs.
"""

from __future__ import annotations

import functools
import threading
import uuid
from datetime import datetime
from typing import Any, Iterator

__all__ = ["AuditLog", "logged_members"]

EVENT_VERSION = "1.08"
_COLUMNS = ("seq", "time", "event_name", "region", "account", "principal", "source_ip",
            "user_agent", "request_id", "key_arn", "params", "response", "additional",
            "error_code", "error_message", "read_only", "event_type", "via_service", "extra_arns")


@functools.cache
def logged_members(operation: str) -> tuple[str, ...]:
    """Request members CloudTrail logs for ``operation``: never blobs or sensitive members."""
    from .service.model import kms_model  # the model is data; imported lazily
    try:
        shape = kms_model().operation_model(operation).input_shape
    except Exception:
        return ()
    if shape is None:
        return ()
    return tuple(name for name, s in shape.members.items()
                 if s.type_name != "blob" and not s.metadata.get("sensitive")
                 and name not in ("Policy",))


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _camel_value(value):
    if isinstance(value, dict):
        return {(_camel(k) if k[:1].isupper() else k): _camel_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_value(v) for v in value]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


class AuditLog:
    """CloudTrail for the lab: ``len(lab.audit)``, ``lab.audit.records()``, ``lab.audit.frame()``."""

    def __init__(self, ids, clock):
        self._ids = ids
        self._clock = clock
        self._lock = threading.Lock()
        self._cols: dict[str, list] = {c: [] for c in _COLUMNS}
        self._event_base = uuid.UUID(ids.uuid4()).int
        self._last_use: dict[str, int] = {}  # key ARN -> row of its last cryptographic use

    # ------------------------------------------------------------ recording
    def record(self, call, response: dict | None, error) -> None:
        """Record one API call (the pipeline's step 6)."""
        request = call.request
        op = call.op
        params = request.params
        members = logged_members(op.name)
        logged = {m: params[m] for m in members if m in params}
        key = call.key
        extra = [k.arn for k in call.extra_keys] if call.extra_keys else None
        with self._lock:
            c = self._cols
            row = len(c["seq"])
            c["seq"].append(row)
            c["time"].append(call.now)
            c["event_name"].append(op.name)
            c["region"].append(call.service.region)
            c["account"].append(call.service.account)
            c["principal"].append(call.caller)
            c["source_ip"].append(request.source_ip)
            c["user_agent"].append(request.user_agent)
            c["request_id"].append(request.request_id)
            c["key_arn"].append(key.arn if key is not None else None)
            c["params"].append(logged)
            c["response"].append(call.audit_extra.get("responseElements") if error is None else None)
            c["additional"].append(call.audit_extra.get("additionalEventData")
                                   or _material(response))
            c["error_code"].append(error.code if error is not None else None)
            c["error_message"].append(error.message if error is not None else None)
            c["read_only"].append(op.read_only)
            c["event_type"].append("AwsApiCall")
            c["via_service"].append(request.via_service)
            c["extra_arns"].append(extra)
            if error is None and op.crypto and key is not None:
                self._last_use[key.arn] = row
                if extra:
                    for arn in extra:
                        self._last_use[arn] = row

    def record_service_event(self, event_name: str, *, account: str, region: str,
                             key_arn: str | None, details: dict | None = None) -> None:
        """Record an action KMS takes by itself (RotateKey, DeleteKey, DeleteExpiredKeyMaterial)."""
        with self._lock:
            c = self._cols
            row = len(c["seq"])
            c["seq"].append(row)
            c["time"].append(self._clock.now())
            c["event_name"].append(event_name)
            c["region"].append(region)
            c["account"].append(account)
            c["principal"].append(None)
            c["source_ip"].append("AWS Internal")
            c["user_agent"].append("AWS Internal")
            c["request_id"].append(None)
            c["key_arn"].append(key_arn)
            c["params"].append(None)
            c["response"].append(None)
            c["additional"].append(details or None)
            c["error_code"].append(None)
            c["error_message"].append(None)
            c["read_only"].append(False)
            c["event_type"].append("AwsServiceEvent")
            c["via_service"].append(None)
            c["extra_arns"].append(None)

    # ------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._cols["seq"])

    def last_use(self, key_arn: str) -> dict | None:
        """The last successful cryptographic call on a key (for GetKeyLastUsage)."""
        row = self._last_use.get(key_arn)
        return None if row is None else self.record_at(row)

    def event_id(self, row: int) -> str:
        return str(uuid.UUID(int=(self._event_base + row) & ((1 << 128) - 1)))

    def record_at(self, row: int) -> dict:
        """One record in CloudTrail's JSON shape."""
        c = self._cols
        account = c["account"][row]
        principal = c["principal"][row]
        service_event = c["event_type"][row] == "AwsServiceEvent"
        rec: dict[str, Any] = {"eventVersion": EVENT_VERSION}
        if service_event:
            rec["userIdentity"] = {"accountId": account, "invokedBy": "AWS Internal"}
        else:
            ident = principal.user_identity()
            if c["via_service"][row]:
                ident["invokedBy"] = c["via_service"][row]
            rec["userIdentity"] = ident
        rec.update({
            "eventTime": c["time"][row].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "kms.amazonaws.com",
            "eventName": c["event_name"][row],
            "awsRegion": c["region"][row],
            "sourceIPAddress": c["via_service"][row] or c["source_ip"][row],
            "userAgent": c["via_service"][row] or c["user_agent"][row],
        })
        if c["error_code"][row]:
            rec["errorCode"] = c["error_code"][row]
            rec["errorMessage"] = c["error_message"][row]
        params = c["params"][row]
        if service_event:
            rec["requestParameters"] = None
            rec["responseElements"] = None
        else:
            rp = _camel_value(params) if params else {}
            if c["key_arn"][row] and "keyId" not in rp and "destinationKeyId" not in rp:
                rp["keyId"] = c["key_arn"][row]
            rec["requestParameters"] = rp or None
            rec["responseElements"] = _camel_value(c["response"][row]) if c["response"][row] else None
        if c["additional"][row] and not service_event:
            rec["additionalEventData"] = _camel_value(c["additional"][row])
        if not service_event:
            rec["requestID"] = c["request_id"][row]
        rec["eventID"] = self.event_id(row)
        rec["readOnly"] = c["read_only"][row]
        arns = [a for a in [c["key_arn"][row], *(c["extra_arns"][row] or [])] if a]
        if arns:
            rec["resources"] = [{"accountId": a.split(":")[4], "type": "AWS::KMS::Key", "ARN": a}
                                for a in dict.fromkeys(arns)]
        rec["eventType"] = c["event_type"][row]
        rec["managementEvent"] = True
        rec["recipientAccountId"] = account
        if service_event and c["additional"][row]:
            rec["serviceEventDetails"] = _camel_value(c["additional"][row])
        rec["eventCategory"] = "Management"
        return rec

    def records(self) -> list[dict]:
        """Every record, oldest first, as CloudTrail JSON objects."""
        return [self.record_at(i) for i in range(len(self))]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records())

    def to_cloudtrail(self) -> dict:
        """``{"Records": [...]}`` as CloudTrail delivers log files."""
        return {"Records": self.records()}

    def frame(self):
        """The trail as a DataFrame, one row per record."""
        from .frames import audit_frame
        return audit_frame(self)

    def columns(self) -> dict[str, list]:
        """The raw columns (read-only view for frames)."""
        return self._cols


def _material(response: dict | None) -> dict | None:
    if response is None:
        return None
    mid = response.get("KeyMaterialId")
    return {"keyMaterialId": mid} if mid else None
