"""Key escrow and split custody, built from ordinary KMS calls.

*Key escrow*: a copy of a data key is kept where a third party (an escrow
agent) can recover it, for example when the owner loses access or a court
orders disclosure. Here the owner's data key is wrapped twice: once under
the owner's KMS key and once under the escrow agent's KMS key in the
agent's own account. Key policies decide who may recover: the agent's key
lets the owner's account *Encrypt* (deposit) but only the agent's recovery
role *Decrypt* (recover).

*Split custody*: no single party can recover alone. The data key is split
into shares with XOR: every share but the last is fresh random bytes from the
OS, the last is the key XOR all of them. Any n-1 shares are uniformly random
and reveal nothing; all n together give the key back (an n-of-n scheme; a
threshold k-of-n scheme would need Shamir secret sharing). Each share is
then encrypted under a different custodian's KMS key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["xor_split", "xor_combine", "EscrowedDataKey", "escrow_data_key", "recover_from_escrow",
           "SplitKey", "split_custody", "recover_split"]


def xor_split(secret: bytes, shares: int = 2) -> list[bytes]:
    """Split ``secret`` into ``shares`` XOR shares (n-of-n; random shares from os.urandom)."""
    if shares < 2:
        raise ValueError("split custody needs at least two shares")
    parts = [os.urandom(len(secret)) for _ in range(shares - 1)]
    last = bytearray(secret)
    for part in parts:
        for i, b in enumerate(part):
            last[i] ^= b
    return parts + [bytes(last)]


def xor_combine(shares: list[bytes]) -> bytes:
    """Recombine every XOR share (a missing or wrong share gives random-looking bytes)."""
    if len({len(s) for s in shares}) != 1:
        raise ValueError("shares have different lengths")
    out = bytearray(len(shares[0]))
    for share in shares:
        for i, b in enumerate(share):
            out[i] ^= b
    return bytes(out)


@dataclass
class EscrowedDataKey:
    """A data key wrapped for its owner and, separately, for an escrow agent (never the plaintext)."""

    owner_key_arn: str
    escrow_key_arn: str
    context: dict
    owner_blob: bytes = field(repr=False)
    escrow_blob: bytes = field(repr=False)


def escrow_data_key(owner_kms, owner_key_id: str, escrow_key_arn: str,
                    context: dict) -> tuple[bytes, EscrowedDataKey]:
    """GenerateDataKey under the owner's key, then deposit a copy under the escrow agent's key.

    Returns (plaintext data key for immediate use, the two wrapped copies).
    The deposit is an Encrypt by the *owner* on the agent's key (cross-account).
    """
    out = owner_kms.generate_data_key(KeyId=owner_key_id, KeySpec="AES_256",
                                      EncryptionContext=context)
    deposit = owner_kms.encrypt(KeyId=escrow_key_arn, Plaintext=out["Plaintext"],
                                EncryptionContext=context)
    return out["Plaintext"], EscrowedDataKey(out["KeyId"], deposit["KeyId"], dict(context),
                                             out["CiphertextBlob"], deposit["CiphertextBlob"])


def recover_from_escrow(escrow_kms, escrowed: EscrowedDataKey) -> bytes:
    """The escrow agent recovers the data key (its key policy decides who may)."""
    return escrow_kms.decrypt(CiphertextBlob=escrowed.escrow_blob, KeyId=escrowed.escrow_key_arn,
                              EncryptionContext=escrowed.context)["Plaintext"]


@dataclass
class SplitKey:
    """A secret split into XOR shares, each encrypted under one custodian's KMS key."""

    custodian_key_arns: list[str]
    context: dict
    blobs: list[bytes] = field(repr=False)


def split_custody(kms, secret: bytes, custodian_key_arns: list[str], context: dict) -> SplitKey:
    """Split ``secret`` into one XOR share per custodian and encrypt each under its key."""
    shares = xor_split(secret, len(custodian_key_arns))
    blobs = [kms.encrypt(KeyId=arn, Plaintext=share, EncryptionContext=context)["CiphertextBlob"]
             for arn, share in zip(custodian_key_arns, shares, strict=True)]
    return SplitKey(list(custodian_key_arns), dict(context), blobs)


def recover_split(custodian_clients: list, split: SplitKey) -> bytes:
    """Each custodian decrypts its own share (with its own client); XOR gives the secret back."""
    if len(custodian_clients) != len(split.blobs):
        raise ValueError(f"all {len(split.blobs)} custodians are needed (n-of-n split)")
    shares = [client.decrypt(CiphertextBlob=blob, KeyId=arn, EncryptionContext=split.context)["Plaintext"]
              for client, blob, arn in zip(custodian_clients, split.blobs, split.custodian_key_arns,
                                           strict=True)]
    return xor_combine(shares)
