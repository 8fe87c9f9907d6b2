"""``kmslab demo``: a headless walkthrough of a key's life, printed step by step."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["run_demo"]


def run_demo(seed: int = 7, out: Callable[[str], None] = print) -> None:
    """Create a key, encrypt, decrypt, alias, disable, schedule deletion, advance the clock."""
    from . import Lab, errors

    lab = Lab(seed=seed)
    kms = lab.client()

    def step(title: str) -> None:
        out(f"\n== {title}")

    out(f"kmslab demo: a simulated AWS KMS (account {lab.default_account}, "
        f"Region {lab.default_region}); lab clock at {lab.clock.now():%Y-%m-%d %H:%M} UTC")

    step("CreateKey: a symmetric encryption key (AES-256-GCM inside KMS)")
    key = kms.create_key(Description="demo key")["KeyMetadata"]
    key_id = key["KeyId"]
    out(f"KeyId     {key_id}")
    out(f"KeySpec   {key['KeySpec']}  KeyUsage {key['KeyUsage']}  KeyState {key['KeyState']}")

    step("Encrypt: up to 4,096 bytes, bound to an encryption context")
    context = {"purpose": "demo"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn",
                       EncryptionContext=context)["CiphertextBlob"]
    out(f"ciphertext blob: {len(blob)} bytes (it names the key and its key material)")

    step("Decrypt: no KeyId needed, the blob says which key")
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
    out(f"plaintext: {plain!r}")
    try:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "other"})
    except errors.InvalidCiphertextException as err:
        out(f"with a different encryption context: {err.code}")

    step("CreateAlias: a friendly name")
    kms.create_alias(AliasName="alias/demo", TargetKeyId=key_id)
    out("alias/demo -> " + kms.describe_key(KeyId="alias/demo")["KeyMetadata"]["KeyId"])

    step("DisableKey: the key can no longer be used")
    kms.disable_key(KeyId=key_id)
    try:
        kms.encrypt(KeyId="alias/demo", Plaintext=b"x")
    except errors.DisabledException as err:
        out(f"Encrypt -> {err.code}: {err.message}")

    step("ScheduleKeyDeletion: a 7-day waiting period")
    resp = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    out(f"KeyState {resp['KeyState']}, deletion on {resp['DeletionDate']:%Y-%m-%d %H:%M} UTC")

    step("Advance the lab clock 8 days")
    lab.clock.advance(days=8)
    out(f"lab clock now {lab.clock.now():%Y-%m-%d %H:%M} UTC")
    try:
        kms.describe_key(KeyId=key_id)
    except errors.NotFoundException as err:
        out(f"DescribeKey -> {err.code}: the key is gone")
    try:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    except errors.KMSError as err:
        out(f"Decrypt of the old ciphertext -> {err.code}: the data is unrecoverable")

    step("The audit trail recorded every request, and what KMS did on its own")
    counts: dict[str, int] = {}
    for rec in lab.audit.records():
        name = rec["eventName"] + (f" ({rec['errorCode']})" if "errorCode" in rec else "")
        if rec.get("eventType") == "AwsServiceEvent":     # no one called it: KMS did
            name += (" (made by KMS itself, when the 7-day waiting period ended)"
                     if rec["eventName"] == "DeleteKey" else " (made by KMS itself)")
        counts[name] = counts.get(name, 0) + 1
    for name, n in counts.items():
        out(f"{n:3d}  {name}")
