"""AWS KMS request quotas: requests per second, per account and Region, on the lab clock.

AWS KMS throttles a request that would exceed a request quota with
``ThrottlingException`` ("Rate exceeded"). Quotas are counted per account and
Region (a cross-account request counts against the caller's account), and
some depend on the key: the cryptographic operations share one quota per key
type (symmetric, RSA, ECC, ML-DSA), and GenerateDataKeyPair has one quota per
key pair spec. Some defaults differ by Region: the symmetric quota is 10,000
per second, 20,000 in six Regions and 100,000 in three (:data:`BY_REGION`).
Values are AWS's published defaults (Developer Guide, "Request quotas"); every
one is adjustable in AWS, and in the lab through ``overrides``. This module is
the one home of these numbers: the latency model (:mod:`kmslab.latency`) reads
them too.

The check is off by default: the lab clock does not move between calls, so
every request of a notebook happens at the same simulated instant. Turn it on
to see throttling::

    >>> quotas = lab.enable_request_quotas({"GenerateDataKeyPair (RSA_2048) request rate": 1})
    >>> quotas.table()          # the quotas in force
    >>> quotas.usage()          # admitted and throttled requests per quota
    >>> lab.disable_request_quotas()

Each quota is a token bucket holding one second's budget (at least one
request): requests at the same instant share it, and it refills at the
quota's rate as ``lab.clock`` advances. The check runs as a hook before the
request is validated, so a throttled request is audited as a failure and
costs nothing else. Operations with no published quota (Encapsulate,
Decapsulate, and GenerateDataKeyPair for ML-KEM pairs) are never throttled.
The quota AWS sets on each custom key store (1,800 cryptographic operations
per second, shared by its keys) is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from . import errors
from .operations import (
    ASYMMETRIC_QUOTA_OPERATIONS,
    DATA_KEY_PAIR_QUOTA_OPERATIONS,
    OWN_QUOTAS,
    SYMMETRIC_QUOTA_OPERATIONS,
    specs,
)

if TYPE_CHECKING:  # pragma: no cover
    from .latency.timeline import TokenBucket
    from .service.pipeline import Call

__all__ = ["RequestQuotas", "REQUEST_QUOTAS", "RESOURCE_QUOTAS", "SYMMETRIC_BY_REGION",
           "BY_REGION", "SYMMETRIC", "canonical_name", "default_rate", "quota_name", "table",
           "resource_table", "THROTTLING_MESSAGE"]

#: AWS's message for a throttled request
THROTTLING_MESSAGE = "Rate exceeded"

SYMMETRIC = "Cryptographic operations (symmetric) request rate"
RSA = "Cryptographic operations (RSA) request rate"
ECC = "Cryptographic operations (ECC) request rate"
ML_DSA = "Cryptographic operations (ML-DSA) request rate"

# Which quota each operation counts against is its ``quota`` fact in the operation table
# (kmslab.operations): "cryptographic" (the shared quota of the key's type), "data key pair"
# (one quota per KeyPairSpec), its own rate in requests per second, or None.
_QUOTA = {name: spec.quota for name, spec in specs().items()}

#: the operations that share the cryptographic-operations quotas: the symmetric one (symmetric
#: encryption and HMAC keys, and GenerateRandom) and the asymmetric ones (by key type)
SYMMETRIC_OPERATIONS = SYMMETRIC_QUOTA_OPERATIONS
ASYMMETRIC_OPERATIONS = ASYMMETRIC_QUOTA_OPERATIONS
DATA_KEY_PAIR_OPERATIONS = DATA_KEY_PAIR_QUOTA_OPERATIONS

#: key spec family (``kmslab.specs``) -> the cryptographic-operations quota it counts against
_FAMILY_QUOTA = {"SYMMETRIC": SYMMETRIC, "HMAC": SYMMETRIC, "RSA": RSA, "ECC": ECC,
                 "EDWARDS": ECC, "SM2": ECC, "ML_DSA": ML_DSA}

_PAIR_RATES = {"ECC_NIST_P256": 100, "ECC_NIST_P384": 100, "ECC_NIST_P521": 100,
               "ECC_SECG_P256K1": 100, "ECC_NIST_EDWARDS25519": 100,
               "RSA_2048": 20, "RSA_3072": 4, "RSA_4096": 1, "SM2": 25}

#: operation -> its own request quota (requests per second), from the operation table
_OPERATION_RATES = OWN_QUOTAS

#: quota name -> (default requests per second, the operations it applies to)
REQUEST_QUOTAS: Mapping[str, tuple[float, str]] = MappingProxyType({
    SYMMETRIC: (10_000, ", ".join(SYMMETRIC_OPERATIONS) + " (symmetric and HMAC keys)"),
    RSA: (1_000, "Encrypt, Decrypt, ReEncrypt, Sign, Verify with RSA keys"),
    ECC: (1_000, "Sign, Verify, DeriveSharedSecret with ECC (and Ed25519, SM2) keys"),
    ML_DSA: (1_000, "Sign, Verify with ML-DSA keys"),
    **{f"GenerateDataKeyPair ({spec}) request rate": (rate, f"GenerateDataKeyPair and "
       f"GenerateDataKeyPairWithoutPlaintext with KeyPairSpec {spec}")
       for spec, rate in _PAIR_RATES.items()},
    **{f"{op} request rate": (rate, op) for op, rate in _OPERATION_RATES.items()},
})

_CHINA = ("cn-north-1", "cn-northwest-1")

#: quota name -> {Region: requests per second} where AWS's default differs from REQUEST_QUOTAS
BY_REGION: Mapping[str, Mapping[str, float]] = MappingProxyType({
    SYMMETRIC: MappingProxyType({
        **{r: 20_000 for r in ("us-east-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
                               "eu-central-1", "eu-west-2")},
        **{r: 100_000 for r in ("us-east-1", "us-west-2", "eu-west-1")},
    }),
    **{f"GenerateDataKeyPair ({spec}) request rate": MappingProxyType({r: rate for r in _CHINA})
       for spec, rate in (("RSA_2048", 1), ("RSA_3072", 0.5), ("RSA_4096", 0.1))},
})

#: Regions where the shared symmetric quota is higher than 10,000 per second
SYMMETRIC_BY_REGION: Mapping[str, float] = BY_REGION[SYMMETRIC]

#: resource quotas, per account and Region (or per key): name -> (default, adjustable)
RESOURCE_QUOTAS: Mapping[str, tuple[int, str]] = MappingProxyType({
    "Customer managed keys": (100_000, "yes"),
    "Aliases per KMS key": (50, "yes"),
    "Grants per KMS key": (50_000, "yes"),
    "Key policy document size (bytes)": (32_768, "no"),
    "Custom key stores": (10, "yes"),
    "On-demand rotations per KMS key": (25, "no"),
})


def default_rate(name: str, region: str) -> float:
    """AWS's default for quota ``name`` in ``region`` (requests per second)."""
    name = canonical_name(name)
    return BY_REGION.get(name, {}).get(region, REQUEST_QUOTAS[name][0])


def quota_name(operation: str, *, key_family: str | None = None,
               key_pair_spec: str | None = None) -> str | None:
    """The request quota a request counts against, or None when AWS publishes none.

    ``key_family`` is the family of the key the request uses (``"SYMMETRIC"``,
    ``"RSA"``, ``"ECC"``...; None when the request names no key, as Decrypt of
    symmetric ciphertext may); ``key_pair_spec`` is GenerateDataKeyPair's KeyPairSpec.
    """
    if operation in DATA_KEY_PAIR_OPERATIONS:
        return f"GenerateDataKeyPair ({key_pair_spec}) request rate" \
            if key_pair_spec in _PAIR_RATES else None
    if operation == "GenerateRandom":
        return SYMMETRIC
    if _QUOTA.get(operation) == "cryptographic":
        return _FAMILY_QUOTA.get(key_family or "SYMMETRIC")
    return f"{operation} request rate" if operation in _OPERATION_RATES else None


def canonical_name(name: str) -> str:
    """The quota's full name: ``"CreateKey"`` -> ``"CreateKey request rate"``; ValueError if none."""
    if name in REQUEST_QUOTAS:
        return name
    if f"{name} request rate" in REQUEST_QUOTAS:
        return f"{name} request rate"
    raise ValueError(f"no request quota named {name!r}; see kmslab.quotas.table() for the names")


def table(region: str = "us-east-1", overrides: Mapping[str, float] | None = None):
    """A DataFrame of the request quotas in ``region``: quota, requests_per_second, applies_to."""
    import pandas as pd
    limits = {canonical_name(k): float(v) for k, v in (overrides or {}).items()}
    rows = [{"quota": name, "requests_per_second": limits.get(name, default_rate(name, region)),
             "applies_to": applies_to} for name, (_, applies_to) in REQUEST_QUOTAS.items()]
    return pd.DataFrame(rows)


def resource_table():
    """A DataFrame of AWS KMS's resource quotas: quota, default, adjustable."""
    import pandas as pd
    return pd.DataFrame([{"quota": name, "default": value, "adjustable": adjustable}
                         for name, (value, adjustable) in RESOURCE_QUOTAS.items()])


class RequestQuotas:
    """The request quotas of a lab, enforced before each request (``lab.enable_request_quotas``).

    ``default_region``: the Region :meth:`table` shows when given none.
    ``overrides`` maps quota names (``"DescribeKey request rate"`` or just
    ``"DescribeKey"``) to requests per second, as a Service Quotas increase
    or decrease would.
    """

    def __init__(self, default_region: str, overrides: Mapping[str, float] | None = None):
        self.default_region = default_region
        self.overrides = {canonical_name(k): float(v) for k, v in (overrides or {}).items()}
        for name, rate in self.overrides.items():
            if rate <= 0:
                raise ValueError(f"{name} must be a positive number of requests per second")
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._counts: dict[tuple[str, str, str], list[int]] = {}

    def __repr__(self) -> str:
        throttled = sum(c[1] for c in self._counts.values())
        return f"<RequestQuotas overrides={len(self.overrides)} throttled={throttled}>"

    def limit(self, name: str, region: str) -> float:
        """Requests per second allowed for quota ``name`` in ``region``."""
        name = canonical_name(name)
        return self.overrides.get(name, default_rate(name, region))

    def table(self, region: str | None = None):
        """The quotas in force in ``region`` (the lab's default Region) as a DataFrame."""
        return table(region or self.default_region, self.overrides)

    def usage(self):
        """A DataFrame of admitted and throttled requests per account, Region and quota."""
        import pandas as pd
        rows = [{"account": account, "region": region, "quota": name,
                 "requests_per_second": self.limit(name, region),
                 "admitted": counts[0], "throttled": counts[1]}
                for (account, region, name), counts in sorted(self._counts.items())]
        return pd.DataFrame(rows, columns=["account", "region", "quota", "requests_per_second",
                                           "admitted", "throttled"])

    def check(self, call: Call) -> None:
        """Take a token for the request, or raise ThrottlingException ("Rate exceeded")."""
        params = call.params if isinstance(call.params, dict) else {}
        family = None
        op = call.op.name
        if _QUOTA.get(op) == "cryptographic":
            family = self._key_family(call, params)
            if family == "AWS_OWNED":  # requests with AWS owned keys do not count
                return
        name = quota_name(op, key_family=family, key_pair_spec=params.get("KeyPairSpec"))
        if name is None:
            return
        svc = call.service  # the caller's account and the Region called
        where = (svc.account, svc.region, name)
        bucket = self._buckets.get(where)
        now = call.now.timestamp()
        if bucket is None:
            from .latency.timeline import TokenBucket  # latency reads this module's table
            rate = self.limit(name, svc.region)
            bucket = self._buckets[where] = TokenBucket(rate, start=now)
        counts = self._counts.setdefault(where, [0, 0])
        if bucket.take(now):
            counts[0] += 1
            return
        counts[1] += 1
        raise errors.ThrottlingException(THROTTLING_MESSAGE)

    def _key_family(self, call: Call, params: dict) -> str | None:
        """The spec family of the asymmetric key a request names, else of its symmetric key."""
        families = []
        for param in ("KeyId", "SourceKeyId", "DestinationKeyId"):
            identifier = params.get(param)
            if not isinstance(identifier, str):
                continue
            try:
                key = call.service.resolve(identifier)
            except errors.KMSError:
                continue  # the request fails later with the proper error
            owner = call.env.kms_service(key.account, key.region, create=False)
            if owner is not None and key.key_id in owner.hidden_keys:
                return "AWS_OWNED"
            families.append(key.spec.family)
        asymmetric = [f for f in families if f not in ("SYMMETRIC", "HMAC")]
        families = asymmetric or families
        return families[0] if families else None
