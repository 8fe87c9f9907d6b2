"""Key last usage: GetKeyLastUsage, answered from the audit trail as AWS answers it from CloudTrail."""

from __future__ import annotations

from .pipeline import Call
from .registry import operation


@operation("GetKeyLastUsage")
def get_key_last_usage(call: Call, params: dict) -> dict:
    """GetKeyLastUsage: the key's last successful tracked cryptographic operation.

    Tracked operations are the model's KeyLastUsageTrackingOperation enum
    (Encrypt, Decrypt, ReEncrypt for both keys, GenerateDataKey*, Sign,
    Verify, GenerateMac, VerifyMac, DeriveSharedSecret, Encapsulate,
    Decapsulate). ``KeyLastUsage`` is absent when the key has not been used
    since tracking started (the lab's audit trail began: ``TrackingStartDate``).
    """
    key = call.key
    audit = call.env.audit
    out: dict = {"KeyId": key.arn}
    last = audit.last_use(key.arn)
    if last is not None:
        usage = {"Operation": last.operation, "Timestamp": last.time,
                 "CloudTrailEventId": last.event_id}
        if last.request_id:
            usage["KmsRequestId"] = last.request_id
        out["KeyLastUsage"] = usage
    out["TrackingStartDate"] = audit.tracking_start or key.created
    out["KeyCreationDate"] = key.created
    return out
