"""What a KMS needs from the world around it: the service's whole view of the lab.

A :class:`~kmslab.service.pipeline.KMSService` and every handler and
lifecycle effect reach the outside only through its :class:`Environment`:

* ``lock``, ``clock``, ``ids``: one call at a time, the (virtual) time, and the
  source of key ids, request ids and tokens;
* ``audit``, ``events``, ``metrics``, ``hooks``: where a call is recorded
  (CloudTrail), what KMS emits (EventBridge, CloudWatch), and code run before
  and after each request (quotas, faults);
* ``authorizer`` and ``iam``: who may do what (key policies, IAM policies,
  grants) and which principals exist;
* ``grant_tokens``, ``grant_delay``, ``on_demand_rotation_delay``, ``key_quota``:
  the account-wide settings AWS has (eventual consistency of grants, how long
  RotateKeyOnDemand takes, customer managed keys per Region);
* ``custom_key_stores`` and their backends ``cloudhsm``, ``xks`` (clusters and
  proxies, found by id or URI; they raise
  :class:`~kmslab.service.keystores.BackendUnavailable`);
* ``kms_service(account, region)`` and ``regions``: the other Regions (and
  accounts) a request may reach: multi-Region replicas, cross-account keys.

The lab builds one environment for all its services and keeps its own
settings in it (``lab.grant_delay`` reads and writes ``lab.env.grant_delay``),
so the service never holds the lab and nothing here imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = ["Environment", "KEY_QUOTA"]

#: customer managed keys per account and Region (AWS default; adjustable through Service Quotas)
KEY_QUOTA = 100_000


class Environment:
    """The clock, ids, audit sink, authorizer, events, key stores and Regions a KMS works with."""

    __slots__ = ("lock", "clock", "ids", "audit", "events", "metrics", "hooks", "authorizer", "iam",
                 "grant_tokens", "grant_delay", "on_demand_rotation_delay", "key_quota",
                 "custom_key_stores", "cloudhsm", "xks", "regions", "_reach")

    def __init__(self, *, lock, clock, ids, audit, events, hooks, iam, metrics=None,
                 reach: Callable[..., Any], regions: list[str]):
        self.lock = lock
        self.clock = clock
        self.ids = ids
        self.audit = audit
        self.events = events
        self.metrics = metrics
        self.hooks = hooks
        self.iam = iam
        self.authorizer: Any = None
        #: grant token -> grant (tokens make a grant usable before it is in effect)
        self.grant_tokens: dict = {}
        #: how long a new grant takes to be in effect without a grant token (AWS: eventual
        #: consistency, "usually less than five minutes"); 0 = at once
        self.grant_delay = timedelta(0)
        #: RotateKeyOnDemand completes after this much simulated time
        self.on_demand_rotation_delay = timedelta(0)
        #: customer managed keys allowed per account and Region; beyond it LimitExceededException
        self.key_quota = KEY_QUOTA
        self.custom_key_stores: Any = None
        self.cloudhsm: Any = None
        self.xks: Any = None
        #: the Regions that have a KMS so far (the lab adds one when a client first uses it)
        self.regions = regions
        self._reach = reach

    def kms_service(self, account: str, region: str, *, create: bool = True):
        """The KMS of another account or Region (None if it has none yet and ``create`` is False)."""
        return self._reach(account, region, create=create)
