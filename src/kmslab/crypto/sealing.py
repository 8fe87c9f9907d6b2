"""Passphrase sealing for lab snapshots: scrypt (memory-hard) + AES-256-GCM.

Sealed layout (format version 1), integers big-endian::

    offset  size  field
    0       16    magic  b"KMSLAB-SNAPSHOT\\n"
    16      2     format version (1)
    18      1     KDF: 1 = scrypt
    19      1     log2(N), scrypt cost (15: N = 32768, 32 MiB of memory)
    20      1     r (8)
    21      1     p (1)
    22      16    salt (OS randomness)
    38      12    GCM nonce (OS randomness)
    50      ...   AES-256-GCM ciphertext of the payload, then the 16-byte tag

The 50-byte header is authenticated as additional data, so changing any
byte anywhere (or using the wrong passphrase) is refused before anything is
read.

The KDF parameters come from the file, so they are checked before any work:
a reader derives a key only when ``N * r * p <= 2**21`` (scrypt needs
``128 * r * N`` bytes: at most 256 MiB, well under a second on a laptop).
A file asking for more is refused at once, whatever the passphrase.

A :class:`SealingKey` is derived once and seals any number of payloads
(each with a fresh nonce), so a server that saves often pays for scrypt
once, at start. It also seals the records of a snapshot's journal
(:meth:`SealingKey.seal_frame`: ``nonce || AES-256-GCM``, bound to the
snapshot and the record's place as additional data). A large payload is
sealed in pieces (:meth:`SealingKey.seal_pieces`): neither it nor its
sealed form is ever held whole in memory; the bytes are the same.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = ["seal", "unseal", "open_sealed", "sealed_id", "SealError", "SealingKey", "MAGIC",
           "FORMAT_VERSION", "peek_version", "check_kdf_parameters", "DEFAULT_LOG_N", "MAX_KDF_WORK"]

MAGIC = b"KMSLAB-SNAPSHOT\n"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">16sHBBBB16s12s")
_KDF_SCRYPT = 1
_TAG = 16
#: a payload sealed in pieces is encrypted in chunks of about this size
_CHUNK = 1 << 20

#: what kmslab writes: N = 2**15, r = 8, p = 1 (32 MiB, about 0.1 s)
DEFAULT_LOG_N, DEFAULT_R, DEFAULT_P = 15, 8, 1
#: the most scrypt work a reader accepts: N * r * p (2**21: 256 MiB at p = 1, under a second)
MAX_KDF_WORK = 2 ** 21
_MIN_LOG_N = 10


class SealError(ValueError):
    """The sealed data cannot be opened (wrong passphrase, tampering, truncation, version)."""


def check_kdf_parameters(kdf: int, log_n: int, r: int, p: int) -> None:
    """Refuse KDF parameters kmslab does not use, or that would cost more than it allows.

    Cheap (no derivation): called on every header before any key is derived.
    """
    if kdf != _KDF_SCRYPT:
        raise SealError(f"snapshot header names key-derivation function {kdf}; kmslab knows "
                        f"only scrypt ({_KDF_SCRYPT})")
    if not (_MIN_LOG_N <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16) \
            or (2 ** log_n) * r * p > MAX_KDF_WORK:
        raise SealError(
            f"snapshot header asks for scrypt N=2**{log_n}, r={r}, p={p}: more work or memory "
            f"than kmslab allows (N*r*p at most 2**21, 256 MiB); it was not written by kmslab "
            f"and is refused without deriving anything")


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not isinstance(passphrase, (bytes, bytearray)):
        raise SealError("a snapshot passphrase is text (str) or bytes")
    if not passphrase:
        raise SealError("a snapshot needs a non-empty passphrase")
    return bytes(passphrase)


def _derive(passphrase: str | bytes, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2 ** log_n, r=r, p=p).derive(_passphrase_bytes(passphrase))


class SealingKey:
    """A key derived from a passphrase once (scrypt), sealing many payloads.

    ``SealingKey.derive(passphrase)`` costs one scrypt run; each
    :meth:`seal` then costs one AES-GCM pass with a fresh nonce. The key
    never shows in a repr. (Not :class:`kmslab.crypto.backing.SealingKey`, the
    interface of a KMS key's symmetric backing key: this one seals snapshots.)
    """

    __slots__ = ("_aead", "_aes", "_salt", "_params")

    def __init__(self, key: bytes, salt: bytes, log_n: int, r: int, p: int):
        self._aead = AESGCM(key)
        self._aes = algorithms.AES(key)  # the same key, for sealing in pieces
        self._salt = salt
        self._params = (log_n, r, p)

    @classmethod
    def derive(cls, passphrase: str | bytes, *, log_n: int = DEFAULT_LOG_N, r: int = DEFAULT_R,
               p: int = DEFAULT_P) -> SealingKey:
        """A new key for ``passphrase`` with a fresh salt from the OS CSPRNG."""
        check_kdf_parameters(_KDF_SCRYPT, log_n, r, p)
        salt = os.urandom(16)
        return cls(_derive(passphrase, salt, log_n, r, p), salt, log_n, r, p)

    def seal(self, payload: bytes) -> bytes:
        """Encrypt and authenticate ``payload`` (a fresh nonce every call)."""
        nonce, header = self._new_header()
        return header + self._aead.encrypt(nonce, payload, header)

    def seal_pieces(self, pieces: Iterable[bytes | memoryview]) -> tuple[bytes, Iterator[bytes]]:
        """:meth:`seal` of the payload ``b"".join(pieces)``, without joining it: the header
        (which names this sealing: :func:`sealed_id`), and the sealed snapshot in pieces to
        write one after the other (the header first, the tag last)."""
        nonce, header = self._new_header()
        return header, self._sealed_pieces(header, nonce, pieces, header)

    def _new_header(self) -> tuple[bytes, bytes]:
        """A fresh nonce (OS randomness) and the snapshot header that names it."""
        nonce = os.urandom(12)
        return nonce, _HEADER.pack(MAGIC, FORMAT_VERSION, _KDF_SCRYPT, *self._params, self._salt,
                                   nonce)

    def seal_frame(self, data: bytes, context: bytes) -> Iterator[bytes]:
        """``nonce || AES-256-GCM(data)`` bound to ``context`` (additional data), as pieces to
        write one after the other: one record of a snapshot's journal, which names the
        snapshot and the record's place in ``context``. A record of megabytes is encrypted in
        chunks as it is written, never copied whole."""
        nonce = os.urandom(12)
        view = memoryview(data)
        return self._sealed_pieces(nonce, nonce, (view[i:i + _CHUNK]
                                                  for i in range(0, len(view), _CHUNK)), context)

    def _sealed_pieces(self, first: bytes, nonce: bytes, pieces: Iterable[bytes | memoryview],
                       associated: bytes) -> Iterator[bytes]:
        """``first``, then AES-256-GCM(``pieces`` joined) in chunks, then the tag: the
        ciphertext and tag :class:`AESGCM` makes of the joined pieces."""
        encryptor = Cipher(self._aes, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated)
        yield first
        chunk: list[bytes | memoryview] = []
        size = 0
        for piece in pieces:
            chunk.append(piece)
            size += len(piece)
            if size >= _CHUNK:
                yield encryptor.update(b"".join(chunk) if len(chunk) > 1 else chunk[0])
                chunk, size = [], 0
        if chunk:
            yield encryptor.update(b"".join(chunk))
        encryptor.finalize()
        yield encryptor.tag

    def open_frame(self, frame: bytes, context: bytes) -> bytes:
        """The data of a :meth:`seal_frame` record (SealError for any change or another context)."""
        if len(frame) < 12 + _TAG:
            raise SealError("a journal record is too short")
        try:
            return self._aead.decrypt(frame[:12], frame[12:], context)
        except InvalidTag:
            raise SealError("a journal record was modified, or belongs elsewhere") from None

    def __repr__(self) -> str:
        log_n, r, p = self._params
        return f"<SealingKey scrypt N=2**{log_n} r={r} p={p} (key hidden)>"

    def __reduce__(self):
        raise TypeError("a sealing key cannot be pickled")


def seal(payload: bytes, passphrase: str | bytes, *, log_n: int = DEFAULT_LOG_N,
         r: int = DEFAULT_R, p: int = DEFAULT_P) -> bytes:
    """Encrypt and authenticate ``payload`` under a key derived from ``passphrase``."""
    return SealingKey.derive(passphrase, log_n=log_n, r=r, p=p).seal(payload)


def peek_version(sealed: bytes) -> int:
    """The format version in a sealed header (SealError if it is not a snapshot)."""
    return _HEADER.unpack_from(_header_of(sealed, _HEADER.size + _TAG))[1]


def _header_of(sealed: bytes, least: int) -> bytes:
    """The header of sealed bytes at least ``least`` long (SealError if it is not a snapshot's)."""
    if not isinstance(sealed, (bytes, bytearray, memoryview)):
        raise SealError(f"a snapshot is bytes, not {type(sealed).__name__}")
    head = bytes(sealed[:least])
    if len(head) < least or not head.startswith(MAGIC):
        raise SealError("this is not a kmslab snapshot (bad magic or too short)")
    return head[:_HEADER.size]


def sealed_id(sealed: bytes) -> bytes:
    """What names one sealed snapshot: its nonce (fresh for every seal; a journal refers to it).
    ``sealed``: the snapshot, or its header (:meth:`SealingKey.seal_pieces`)."""
    return _header_of(sealed, _HEADER.size)[-12:]


def unseal(sealed: bytes, passphrase: str | bytes) -> bytes:
    """Open sealed data; SealError for a wrong passphrase, any change, or an unknown version.

    Everything in the header is checked before the key is derived.
    """
    return open_sealed(sealed, passphrase)[0]


def open_sealed(sealed: bytes, passphrase: str | bytes) -> tuple[bytes, SealingKey]:
    """:func:`unseal`, and the key it derived (to open the snapshot's journal with)."""
    version = peek_version(sealed)
    sealed = bytes(sealed)
    _, _, kdf, log_n, r, p, salt, nonce = _HEADER.unpack_from(sealed)
    if version != FORMAT_VERSION:
        raise SealError(
            f"snapshot format version {version} is not supported by this kmslab "
            f"(it reads version {FORMAT_VERSION}); "
            + ("upgrade kmslab to load it" if version > FORMAT_VERSION else
               "it was written by an older kmslab; re-create the lab from a seed file"))
    check_kdf_parameters(kdf, log_n, r, p)
    passphrase = _passphrase_bytes(passphrase)
    header = sealed[:_HEADER.size]
    key = SealingKey(_derive(passphrase, salt, log_n, r, p), salt, log_n, r, p)
    try:
        return key._aead.decrypt(nonce, sealed[_HEADER.size:], header), key
    except InvalidTag:
        raise SealError("wrong passphrase, or the snapshot was modified or truncated") from None
