"""Take apart what KMS hands you, for learning: ciphertext blobs, the key-state tables,
envelope messages, saved labs.

    >>> from kmslab.inspect import parse_blob, key_states, parse_message
    >>> parse_blob(kms.encrypt(KeyId=key, Plaintext=b"hi")["CiphertextBlob"]).describe()
    >>> key_states.TABLE["Encrypt"]["Disabled"]      # AWS's footnote: which error, see FOOTNOTES
    >>> parse_message(envelope_message)              # header, wrapped data keys, frames
    >>> snapshot_version(lab.to_bytes(passphrase))   # the format a saved lab is in

This is the public face of what the tutorials inspect; the modules behind it
(``kmslab.crypto``, ``kmslab.service``, the envelope format) are internal and
may change. Nothing here shows secret material: a blob or a message holds
none in the clear, and the tables are rules, not keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .crypto.sealing import peek_version as _peek_version
from .crypto.symmetric import BlobParts
from .crypto.symmetric import parse_blob as _parse_blob
from .envelope.inspect import parse as parse_message
from .service import states as _states

# What parse_message returns (MessageInfo, with DataKeyInfo and FrameInfo) is documented with
# kmslab.envelope, where it is defined.
__all__ = ["parse_blob", "BlobParts", "parse_message", "key_states", "KeyStates", "snapshot_version"]


def parse_blob(blob: bytes) -> BlobParts:
    """Split a symmetric KMS ciphertext blob into its parts (a :class:`BlobParts`).

    kmslab's blob names the key ARN and the key material id that made it (so Decrypt
    needs no KeyId and works after rotation), then the 12-byte nonce and the AES-GCM
    ciphertext and tag. ``.describe()`` is a learner's view of it. AWS documents
    no format for its blobs: this is kmslab's own. InvalidCiphertextException if
    ``blob`` is not one.
    """
    return _parse_blob(blob)


@dataclass(frozen=True)
class KeyStates:
    """AWS KMS's key-state rules as data (Developer Guide, "Key states of AWS KMS keys").

    ``TABLE[operation][state]`` is ``OK`` or AWS's footnote number; ``FOOTNOTES[n]`` is
    ``(error class, message)``, the message with ``{arn}`` for the key ARN.
    ``TRANSITIONS[(state, event)]`` is the state a key moves to; ``NEW`` stands before a
    key's first state and ``DELETED`` after its last. These are the tables the service
    itself checks, read-only.
    """

    STATES: tuple[str, ...]
    LIFECYCLE_STATES: tuple[str, ...]
    OK: str
    TABLE: Mapping[str, Mapping[str, Any]]
    FOOTNOTES: Mapping[int, tuple[type, str]]
    TRANSITIONS: Mapping[tuple[str, str], str]
    NEW: str
    DELETED: str
    transition_table: Callable[[], list[tuple[str, str, str]]]

    def error(self, operation: str, state: str) -> str | None:
        """The AWS error code ``operation`` gets on a key in ``state``; None if the state allows it."""
        cell = self.TABLE.get(operation, MappingProxyType({})).get(state, self.OK)
        return None if cell == self.OK else self.FOOTNOTES[cell][0].__name__


#: the key-state table and the key-state machine (see :class:`KeyStates`)
key_states = KeyStates(STATES=_states.STATES, LIFECYCLE_STATES=_states.LIFECYCLE_STATES, OK=_states.OK,
                       TABLE=_states.TABLE, FOOTNOTES=_states.FOOTNOTES,
                       TRANSITIONS=_states.TRANSITIONS, NEW=_states.NEW, DELETED=_states.DELETED,
                       transition_table=_states.transition_table)


def snapshot_version(data: bytes) -> int:
    """The format version a saved lab (``lab.to_bytes``, ``lab.save``) is written in, read from
    its sealed header without the passphrase; SealError if ``data`` is not a kmslab snapshot."""
    return _peek_version(data)
