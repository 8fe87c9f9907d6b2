"""Sealing in pieces (a served lab's whole snapshots and journal records) is sealing: the same
format, opened by the same readers, refused on the same changes."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab.crypto import sealing
from kmslab.crypto.sealing import SealError, SealingKey

PASS = "pieces"
KEY = SealingKey.derive(PASS, log_n=10)

# empty, smaller than a chunk, pieces of every size, and several chunks with a piece across
# each boundary
PAYLOADS = [
    [],
    [b"{}"],
    [b"a" * n for n in range(0, 300, 7)],
    [os.urandom(700_000), os.urandom(900_000), b"x", os.urandom(1 << 20), os.urandom(5)],
]


@pytest.mark.parametrize("pieces", PAYLOADS, ids=["empty", "small", "many", "chunks"])
def test_a_snapshot_sealed_in_pieces_opens_as_a_sealed_one(pieces):
    header, sealed = KEY.seal_pieces(iter(pieces))
    data = b"".join(sealed)
    assert data.startswith(header) and len(data) == len(header) + sum(map(len, pieces)) + 16
    assert sealing.unseal(data, PASS) == b"".join(pieces)
    assert sealing.sealed_id(header) == sealing.sealed_id(data)
    # the ciphertext and tag are what AES-GCM makes of the joined payload under that nonce
    key = sealing._derive(PASS, KEY._salt, *KEY._params)
    nonce = header[-12:]
    assert data[len(header):] == AESGCM(key).encrypt(nonce, b"".join(pieces), header)


def test_each_sealing_in_pieces_has_its_own_nonce():
    first, _ = KEY.seal_pieces([b"same"])
    second, _ = KEY.seal_pieces([b"same"])
    assert sealing.sealed_id(first) != sealing.sealed_id(second)


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (3 << 20) + 17])
def test_a_journal_record_sealed_in_pieces_opens_as_a_frame(size):
    data = os.urandom(size)
    frame = b"".join(KEY.seal_frame(data, b"context"))
    assert len(frame) == 12 + size + 16
    assert KEY.open_frame(frame, b"context") == data
    with pytest.raises(SealError):
        KEY.open_frame(frame, b"another place")
    changed = bytearray(frame)
    changed[len(frame) // 2] ^= 1
    with pytest.raises(SealError):
        KEY.open_frame(bytes(changed), b"context")


def test_a_snapshot_sealed_in_pieces_refuses_a_changed_byte_or_another_passphrase():
    header, sealed = KEY.seal_pieces([b"payload " * 1000])
    data = bytearray(b"".join(sealed))
    with pytest.raises(SealError, match="wrong passphrase"):
        sealing.unseal(bytes(data), "another")
    for at in (len(header) - 1, len(header) + 5, len(data) - 1):
        changed = bytearray(data)
        changed[at] ^= 1
        with pytest.raises(SealError):
            sealing.unseal(bytes(changed), PASS)


def test_a_header_alone_names_its_snapshot_but_anything_else_is_refused():
    header, _ = KEY.seal_pieces([b"x"])
    assert sealing.sealed_id(header) == header[-12:]
    for bad in (header[:-1], b"not a snapshot" * 10, "text"):
        with pytest.raises(SealError):
            sealing.sealed_id(bad)
