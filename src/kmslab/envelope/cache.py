"""Data-key caching, with the semantics of the AWS Encryption SDK's caching CMM.

Without a cache every encrypted message costs a GenerateDataKey call (plus
one Encrypt per extra key) and every decrypted message a Decrypt call. With
one, a data key is reused:

* for encryption, under the same algorithm suite, key ids and encryption
  context, until the entry is older than ``max_age`` seconds, or reusing it
  would take it past ``max_messages`` messages or ``max_bytes`` plaintext
  bytes. Then the entry is dropped and KMS is asked for a fresh data key.
  For the signing suite the entry keeps its signing key too (KMS bound the
  data key to the context that holds its public half), as the SDK's does;
* for decryption, keyed by the message's suite, encrypted data keys and
  context, until the entry is older than ``max_age``.

A message larger than ``max_bytes`` on its own bypasses the cache. The
least recently used entry goes when ``capacity`` is reached. ``hits`` and
``misses`` count lookups, so a learner sees KMS calls drop.

The time source is injectable: ``DataKeyCache(max_age=60, clock=lab.clock.timestamp)``
ages entries on the lab's virtual clock; the default is ``time.monotonic``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DataKeyCache"]


@dataclass(slots=True)
class _Entry:
    materials: object
    created: float
    messages: int = 0
    bytes: int = 0


class DataKeyCache:
    """Reuse data keys across messages within limits (AWS Encryption SDK caching CMM).

    ``max_age``: seconds an entry may be used (required, > 0).
    ``max_messages``: messages one encryption data key may protect (default 2**32).
    ``max_bytes``: plaintext bytes one encryption data key may protect (default 2**63 - 1).
    ``capacity``: entries kept; the least recently used goes first.
    ``clock``: returns seconds as a float (default ``time.monotonic``).
    """

    def __init__(self, max_age: float, max_messages: int = 2**32, max_bytes: int = 2**63 - 1,
                 *, capacity: int = 100, clock: Callable[[], float] | None = None):
        if not max_age > 0:
            raise ValueError("max_age must be a positive number of seconds")
        if not 1 <= max_messages <= 2**32:
            raise ValueError("max_messages must be between 1 and 2**32")
        if not 0 <= max_bytes <= 2**63 - 1:
            raise ValueError("max_bytes must be between 0 and 2**63 - 1")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.max_age = max_age
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.capacity = capacity
        self._clock = clock or time.monotonic
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.encrypt_hits = self.encrypt_misses = 0
        self.decrypt_hits = self.decrypt_misses = 0

    @property
    def hits(self) -> int:
        """Lookups answered from the cache, encryption and decryption together."""
        return self.encrypt_hits + self.decrypt_hits

    @property
    def misses(self) -> int:
        """Lookups that found nothing usable and so cost KMS calls."""
        return self.encrypt_misses + self.decrypt_misses

    def stats(self) -> dict:
        """Lookup counters and the number of entries held."""
        return {"encrypt_hits": self.encrypt_hits, "encrypt_misses": self.encrypt_misses,
                "decrypt_hits": self.decrypt_hits, "decrypt_misses": self.decrypt_misses,
                "entries": len(self._entries)}

    def clear(self) -> None:
        """Drop every entry (counters stay)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (f"<DataKeyCache entries={len(self._entries)} hits={self.hits} "
                f"misses={self.misses} max_age={self.max_age} "
                f"max_messages={self.max_messages} max_bytes={self.max_bytes}>")

    # -- used by the materials layer -------------------------------------------------

    def take_for_encrypt(self, key: tuple, plaintext_length: int | None):
        """Cached materials for one more message of ``plaintext_length`` bytes, or None."""
        with self._lock:
            if plaintext_length is None or plaintext_length > self.max_bytes:
                self.encrypt_misses += 1
                return None
            entry = self._entries.get(key)
            if entry is not None:
                if (self._clock() - entry.created > self.max_age
                        or entry.messages + 1 > self.max_messages
                        or entry.bytes + plaintext_length > self.max_bytes):
                    del self._entries[key]
                else:
                    entry.messages += 1
                    entry.bytes += plaintext_length
                    self._entries.move_to_end(key)
                    self.encrypt_hits += 1
                    return entry.materials
            self.encrypt_misses += 1
            return None

    def put_for_encrypt(self, key: tuple, materials, plaintext_length: int | None) -> None:
        """Store fresh materials that have just protected one message."""
        if plaintext_length is None or plaintext_length > self.max_bytes:
            return
        self._put(key, _Entry(materials, self._clock(), 1, plaintext_length))

    def take_for_decrypt(self, key: tuple):
        """Cached materials for a message with these encrypted data keys, or None (expired ones go)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if self._clock() - entry.created > self.max_age:
                    del self._entries[key]
                else:
                    self._entries.move_to_end(key)
                    self.decrypt_hits += 1
                    return entry.materials
            self.decrypt_misses += 1
            return None

    def put_for_decrypt(self, key: tuple, materials) -> None:
        """Store the materials KMS has just decrypted, for the next message that carries the same keys."""
        self._put(key, _Entry(materials, self._clock()))

    def _put(self, key: tuple, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
