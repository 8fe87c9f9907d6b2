"""Identifiers: key ids, ARNs, alias names, key material ids, request ids.

``IdSource`` makes every identifier the lab hands out. Seeded, it gives the
same ids on every run (so notebook output is reproducible); it never feeds
key material, which always comes from the OS CSPRNG.
"""

from __future__ import annotations

import os
import random
import re
import threading
import uuid

from . import errors

__all__ = [
    "IdSource", "key_arn", "alias_arn", "parse_key_identifier", "KeyRef", "validate_alias_name",
    "ALIAS_PREFIX", "RESERVED_ALIAS_PREFIX", "REGIONS", "is_key_id",
]

ALIAS_PREFIX = "alias/"
RESERVED_ALIAS_PREFIX = "alias/aws/"
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
_KEY_ID = re.compile(r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KMS_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")

#: Regions a lab knows (commercial partition), in AWS's order of launch-ish
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-east-1", "sa-east-1", "me-south-1", "me-central-1", "af-south-1",
    "il-central-1", "mx-central-1",
)


def key_arn(region: str, account: str, key_id: str) -> str:
    """The ARN of a KMS key: ``arn:aws:kms:<region>:<account>:key/<key id>``."""
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias_name: str) -> str:
    """The ARN of an alias; ``alias_name`` includes its ``alias/`` prefix."""
    return f"arn:aws:kms:{region}:{account}:{alias_name}"


def is_key_id(text: str) -> bool:
    """Whether ``text`` is a key id: a UUID, or ``mrk-`` and 32 hex digits (multi-Region)."""
    return bool(_KEY_ID.match(text))


class KeyRef:
    """A parsed KeyId parameter: which form it had and what it names."""

    __slots__ = ("text", "form", "key_id", "alias_name", "region", "account")

    def __init__(self, text, form, key_id=None, alias_name=None, region=None, account=None):
        self.text, self.form = text, form
        self.key_id, self.alias_name = key_id, alias_name
        self.region, self.account = region, account


def parse_key_identifier(text: str) -> KeyRef:
    """Parse the four KeyId forms AWS accepts: key id, key ARN, alias name, alias ARN."""
    if text.startswith("arn:"):
        m = _KMS_ARN.match(text)
        if not m:
            raise errors.InvalidArnException(f"Invalid arn {text}")
        _, region, account, kind, rest = m.groups()
        if kind == "key":
            return KeyRef(text, "key_arn", key_id=rest, region=region, account=account)
        return KeyRef(text, "alias_arn", alias_name="alias/" + rest, region=region, account=account)
    if text.startswith(ALIAS_PREFIX):
        return KeyRef(text, "alias_name", alias_name=text)
    return KeyRef(text, "key_id", key_id=text)


def validate_alias_name(name: str) -> None:
    """AWS's alias name rules (CreateAlias, UpdateAlias, DeleteAlias), with AWS's errors.

    The model's pattern (``^[a-zA-Z0-9:/_-]+$``) has been checked already; then:
    a name must start with ``alias/`` (ValidationException), must not start
    with ``alias/aws/``, reserved for AWS managed keys (NotAuthorizedException,
    with an empty message), and must not contain ``:`` (ValidationException).
    """
    if not name.startswith(ALIAS_PREFIX) or name == ALIAS_PREFIX:
        raise errors.ValidationException(
            'Alias must start with the prefix "alias/". Please see '
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
    if name.startswith(RESERVED_ALIAS_PREFIX):
        raise errors.NotAuthorizedException("")
    if not _ALIAS_NAME.match(name):
        raise errors.ValidationException(f"{name} contains invalid characters for an alias")


class IdSource:
    """Reproducible identifiers for one lab (seeded) or fresh ones (unseeded)."""

    def __init__(self, seed: int | None = None):
        self._rng = random.Random(seed) if seed is not None else random.SystemRandom()
        self._lock = threading.Lock()
        self._request_base = self._rng.getrandbits(128)
        self._request_prefix: str | None = None
        self.request_seq = 0  # the counter of the last request id made (see request_id_at)
        self.last_request_id: str | None = None

    def _bits(self, n: int) -> int:
        with self._lock:
            return self._rng.getrandbits(n)

    def uuid4(self) -> str:
        """A version-4 UUID from this source (reproducible when seeded)."""
        return str(uuid.UUID(int=self._bits(128), version=4))

    def key_id(self, multi_region: bool = False) -> str:
        """The id of a new key: a UUID, or ``mrk-`` + 32 hex digits for a multi-Region key."""
        preset = self.__dict__.pop("_next_key_id", None)
        if preset is not None:
            return preset
        if multi_region:
            return "mrk-" + f"{self._bits(128):032x}"
        return self.uuid4()

    def preset_next_key_id(self, key_id: str) -> None:
        """Make the next ``key_id()`` return ``key_id`` (seed files give keys fixed ids)."""
        if not is_key_id(key_id):
            raise ValueError(f"{key_id!r} is not a key id")
        self._next_key_id = key_id

    def hex(self, nbytes: int) -> str:
        """``nbytes`` random bytes from this source as hex (ids only, never key material)."""
        return f"{self._bits(8 * nbytes):0{2 * nbytes}x}"

    def key_material_id(self) -> str:
        """A 64-hex KeyMaterialId for KMS-generated material (no link to the material)."""
        return self.hex(32)

    def token(self, nbytes: int = 32) -> bytes:
        """Random bytes that must be unguessable (grant tokens, import tokens): always OS randomness."""
        return os.urandom(nbytes)

    def request_id(self) -> str:
        """A request id in UUID form, cheap: a per-lab random prefix and a counter.

        Called with the lab's lock held (the request pipeline holds it), so the
        counter needs no lock of its own.
        """
        self.request_seq += 1
        self.last_request_id = rid = self.request_id_at(self.request_seq)
        return rid

    def request_id_at(self, seq: int) -> str:
        """The request id this lab made as its ``seq``-th."""
        prefix = self._request_prefix
        if prefix is None:
            s = f"{self._request_base:032x}"
            prefix = self._request_prefix = f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-"
        return prefix + "%012x" % ((self._request_base + seq) & 0xFFFFFFFFFFFF)

    @property
    def seeded(self) -> bool:
        """True when ids come from the seed (reproducible), False when from the OS."""
        return not isinstance(self._rng, random.SystemRandom)

    def state(self) -> dict:
        """What a lab snapshot keeps: the seeded generator's state (None when unseeded),
        the request-id base and counter, and a preset next key id."""
        return {"rng": self._rng.getstate() if self.seeded else None,
                "request_base": self._request_base, "request_seq": self.request_seq,
                "next_key_id": self.__dict__.get("_next_key_id")}

    def restore(self, *, rng_state: tuple | None, request_base: int, request_seq: int,
                next_key_id: str | None = None) -> None:
        """Continue from a saved :meth:`state` (a seeded source takes its generator's state;
        an unseeded one keeps drawing from the OS)."""
        if rng_state is not None:
            if not self.seeded:
                raise ValueError("an unseeded id source has no generator state to restore")
            self._rng.setstate(rng_state)
        self._request_base = request_base
        self._request_prefix = None
        self.request_seq = request_seq
        self.last_request_id = None
        self.__dict__.pop("_next_key_id", None)
        if next_key_id is not None:
            self.preset_next_key_id(next_key_id)
