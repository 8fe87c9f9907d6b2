"""The simulated world: clock, accounts, Regions, principals, one KMS per account and Region.

    >>> lab = kmslab.Lab(seed=7)
    >>> kms = lab.client()                    # the account's administrator, us-east-1
    >>> key = kms.create_key()["KeyMetadata"]
    >>> lab.clock.advance(days=30)

``seed`` makes ids, request ids and simulated timings reproducible, so a
notebook prints the same thing every run; key material always comes from the
OS CSPRNG.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, overload

from . import arns, errors
from .arns import IdSource
from .audit import AuditLog
from .client import KMSClient
from .clock import VirtualClock
from .events import EventBus
from .faults import Faults
from .hooks import Hooks
from .iam import ADMINISTRATOR_ACCESS, IAM, IAMClient, IAMRole, IAMUser, STSClient
from .identity import Principal, account_root
from .metrics import MetricStore
from .policy import Decision
from .service import KMSService, Request
from .service.authorization import PolicyAuthorizer, explain
from .service.environment import Environment
from .service.key import Key
from .service.keystores import CustomKeyStores
from .world.cloudhsm import CloudHsm
from .world.s3 import S3World
from .world.xks import XksProxies, XksProxy

if TYPE_CHECKING:
    from .quotas import RequestQuotas

__all__ = ["Lab", "default_lab", "DEFAULT_ACCOUNT", "DEFAULT_REGION"]

DEFAULT_ACCOUNT = "111122223333"
DEFAULT_REGION = "us-east-1"


def _environment(name: str, doc: str) -> property:
    """A lab attribute kept in the services' environment (``lab.env``), read and set through it."""
    def read(lab):
        return getattr(lab.env, name)

    def write(lab, value):
        setattr(lab.env, name, value)

    read.__doc__ = doc
    return property(read, write, doc=doc)


class Lab:
    """A simulated AWS world with a KMS in every account and Region.

    The lab builds the world and hands out clients; its services see it only
    through one :class:`~kmslab.service.environment.Environment` (``lab.env``).
    """

    clock = _environment("clock", "The lab's clock (virtual unless you pass a real one).")
    ids = _environment("ids", "Where key ids, request ids and tokens come from (seeded).")
    lock = _environment("lock", "One call at a time: held for each request and clock step.")
    audit = _environment("audit", "The audit trail (CloudTrail-like), every request's record.")
    events = _environment("events", "EventBridge-like events KMS emits.")
    metrics = _environment("metrics", "CloudWatch-like metrics (SecondsUntilKeyMaterialExpiration).")
    hooks = _environment("hooks", "Code run before and after each request (quotas, faults).")
    iam = _environment("iam", "IAM: users, roles, their policies and access keys.")
    authorizer = _environment("authorizer", "Who may do what: key policies, IAM policies, grants.")
    grant_tokens = _environment("grant_tokens", "Grant token -> grant (usable before in effect).")
    grant_delay = _environment(
        "grant_delay", "How long a new grant takes to be in effect without a grant token (AWS: "
        "eventual consistency, 'usually less than five minutes'); 0 = at once.")
    on_demand_rotation_delay = _environment(
        "on_demand_rotation_delay", "RotateKeyOnDemand completes after this much time.")
    key_quota = _environment(
        "key_quota", "Customer managed keys allowed per account and Region (AWS default 100,000; "
        "adjustable in AWS through Service Quotas); CreateKey beyond it: LimitExceededException.")
    custom_key_stores = _environment("custom_key_stores", "Every custom key store of the lab.")
    cloudhsm = _environment("cloudhsm", "The lab's CloudHSM clusters.")
    xks = _environment("xks", "The lab's external key store proxies.")
    regions = _environment("regions", "The Regions that have a KMS so far.")

    def __init__(self, seed: int | None = None, start: datetime | None = None, *,
                 account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION):
        self.seed = seed
        lock = threading.RLock()
        ids = IdSource(seed)
        clock = VirtualClock(start, lock=lock)
        self.env = Environment(lock=lock, clock=clock, ids=ids, audit=AuditLog(ids, clock),
                               events=EventBus(clock, ids), hooks=Hooks(), iam=IAM(ids, clock),
                               metrics=MetricStore(clock), reach=self.kms_service, regions=[region])
        self.audit.key_resolver = self.key_arn
        #: request quotas in force (``enable_request_quotas``); None = never throttle
        self.request_quotas: RequestQuotas | None = None
        self.authorizer = PolicyAuthorizer(self.env)
        self.custom_key_stores = CustomKeyStores(self.env)
        self.cloudhsm = CloudHsm(self)
        self.xks = XksProxies(self)
        self.faults = Faults(self)
        self.s3 = S3World(self)
        self.default_account = account_id
        self.default_region = region
        self.accounts: dict[str, dict] = {}
        self._services: dict[tuple[str, str], KMSService] = {}
        self.add_account(account_id)

    def __repr__(self) -> str:
        return (f"<kmslab.Lab seed={self.seed} time={self.clock.now():%Y-%m-%d %H:%M} "
                f"accounts={list(self.accounts)}>")

    # ------------------------------------------------------------ world
    def add_account(self, account_id: str | None = None, *, name: str | None = None) -> str:
        """Add an AWS account (12-digit id; generated when omitted) and return its id."""
        if account_id is None:
            account_id = f"{self.ids._bits(40) % 10**12:012d}"
        if len(account_id) != 12 or not account_id.isdigit():
            raise ValueError("an AWS account id has 12 digits")
        if account_id not in self.accounts:
            self.iam.accounts.add(account_id)
            admin = self.iam.create_user(account_id, "admin")
            self.iam.put_policy(admin, "AdministratorAccess", ADMINISTRATOR_ACCESS)
            self.accounts[account_id] = {"name": name or account_id, "admin": admin.principal,
                                         "root": account_root(account_id)}
        return account_id

    def create_cloudhsm_cluster(self, hsm_count: int = 2, *, kmsuser_password: str | None = "kmsPswd1",
                                account: str | None = None, region: str | None = None,
                                source_cluster: str | None = None) -> str:
        """A simulated, initialized and ACTIVE CloudHSM cluster; returns its id (``cluster-...``).

        ``lab.cloudhsm.cluster(cluster_id)`` gives the cluster: its
        ``trust_anchor_certificate`` (for CreateCustomKeyStore), HSMs
        (``add_hsm``/``delete_hsm``), the kmsuser password and its own audit log.
        """
        return self.cloudhsm.create_cluster(hsm_count=hsm_count, kmsuser_password=kmsuser_password,
                                            account=account, region=region,
                                            source_cluster=source_cluster)

    def create_xks_proxy(self, uri_endpoint: str = "https://xks.example.com",
                         uri_path: str = "/example/kms/xks/v1", *,
                         external_keys: tuple[str, ...] = ()) -> XksProxy:
        """A simulated external key store proxy (and key manager) holding ``external_keys``."""
        return self.xks.create_proxy(uri_endpoint, uri_path, keys=external_keys)

    def add_user(self, name: str, policy: str | Mapping | None = None, *,
                 account: str | None = None) -> IAMUser:
        """Create an IAM user (optionally with an inline identity policy named ``policy``).

        ``policy`` is a JSON document (text or dict). Returns the user; its
        ``.arn`` is what key policies name; ``lab.client(as_=name)`` acts as it.
        """
        user = self.iam.create_user(account or self.default_account, name)
        if policy is not None:
            self.iam.put_policy(user, "policy", _json(policy))
        return user

    def add_role(self, name: str, trusted: Iterable[str] = (), policy: str | Mapping | None = None,
                 *, account: str | None = None) -> IAMRole:
        """Create an IAM role whose trust policy lets ``trusted`` principals assume it.

        ``trusted``: user names (of the role's account), ARNs or account ids;
        empty trusts the account (its IAM policies then decide, as in AWS).
        """
        account = account or self.default_account
        names = [self._principal_arn(t, account) for t in trusted] or \
            [f"arn:aws:iam::{account}:root"]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": names[0] if len(names) == 1 else names},
            "Action": "sts:AssumeRole"}]}
        role = self.iam.create_role(account, name, json.dumps(trust, indent=2))
        if policy is not None:
            self.iam.put_policy(role, "policy", _json(policy))
        return role

    def _principal_arn(self, who: str, account: str) -> str:
        if who.startswith("arn:"):
            return who
        if len(who) == 12 and who.isdigit():
            return f"arn:aws:iam::{who}:root"
        return self.iam.user(account, who).arn

    def admin(self, account: str | None = None) -> Principal:
        """The account's administrator (the default caller)."""
        return self.accounts[account or self.default_account]["admin"]

    @overload
    def kms_service(self, account: str, region: str, *,
                    create: Literal[True] = ...) -> KMSService: ...
    @overload
    def kms_service(self, account: str, region: str, *, create: bool) -> KMSService | None: ...

    def kms_service(self, account: str, region: str, *, create: bool = True) -> KMSService | None:
        """The KMS of one account and Region."""
        svc = self._services.get((account, region))
        if svc is None and create:
            if account not in self.accounts:
                raise errors.UnrecognizedClientException(f"Account {account} is not in the lab.")
            if region not in arns.REGIONS:
                raise ValueError(f"unknown Region {region!r}")
            svc = self._services[(account, region)] = KMSService(self.env, account, region)
            if region not in self.regions:
                self.regions.append(region)
        return svc

    def services(self) -> list[KMSService]:
        return list(self._services.values())

    # ------------------------------------------------------------ clients
    def client(self, service_name: str = "kms", *, region_name: str | None = None,
               account: str | None = None, as_: Principal | str | None = None):
        """A boto3-shaped client: ``"kms"`` (default), ``"iam"`` or ``"sts"``.

        ``as_`` is who the client acts as: a user name, a role name (a role
        session named ``kmslab``), an ARN, an access key id, a Principal, or
        None for the account's ``admin`` user.
        """
        caller = self.principal(as_, account)
        if service_name == "iam":
            return IAMClient(self, caller)
        if service_name == "sts":
            return STSClient(self, caller)
        if service_name != "kms":
            raise ValueError(f"the lab has no {service_name!r} client (kms, iam, sts)")
        region = region_name or self.default_region
        self.kms_service(caller.account_id, region)
        return KMSClient(self, region, caller)

    def service(self, service_name: str, *, region_name: str | None = None,
                account: str | None = None, as_: Principal | str | None = None):
        """A boto3-shaped client of an integrated service that uses KMS for you (``"s3"``)."""
        if service_name != "s3":
            raise ValueError(f"the lab simulates no {service_name!r} service (only 's3')")
        caller = self.principal(as_, account)
        return self.s3.client(caller, region_name or self.default_region)

    def principal(self, who: Principal | IAMUser | IAMRole | str | None = None,
                  account: str | None = None) -> Principal:
        """Resolve a caller: a Principal, user or role record, ARN, access key id, name, or None.

        A role (by name, ARN or record) becomes a session named ``kmslab``, as if
        the role had been assumed now; ``sts.assume_role`` is the way that checks
        the trust policy.
        """
        if isinstance(who, Principal):
            return who
        if isinstance(who, IAMUser):
            return who.principal
        if isinstance(who, IAMRole):
            return who.session("kmslab", issued=self.clock.now())
        account = account or self.default_account
        if who is None:
            return self.admin(account)
        if who == "root":
            return self.accounts[account]["root"]
        iam = self.iam
        if who.startswith(("AKIA", "ASIA")) and who in iam.access_keys:
            return iam.resolve_access_key(who)[0]
        if who.startswith("arn:"):
            parts = who.split(":", 5)
            if len(parts) == 6 and parts[5] == "root" and parts[4] in self.accounts:
                return self.accounts[parts[4]]["root"]
            if who in iam.users:
                return iam.users[who].principal
            if who in iam.roles:
                return iam.roles[who].session("kmslab", issued=self.clock.now())
            if parts[2] == "sts" and parts[5].startswith("assumed-role/"):
                _, role_name, session = parts[5].split("/", 2)
                return iam.role(parts[4], role_name).session(session, issued=self.clock.now())
            raise errors.NotFoundException(f"No principal {who!r} in the lab.")
        try:
            return iam.user(account, who).principal
        except errors.KMSError:
            pass
        try:
            return iam.role(account, who).session("kmslab", issued=self.clock.now())
        except errors.KMSError:
            raise errors.NotFoundException(
                f"No user or role named {who!r} in account {account}.") from None

    def resolve_access_key(self, access_key_id: str) -> tuple[Principal, str]:
        """The principal and secret of an access key id (UnrecognizedClientException if unknown)."""
        return self.iam.resolve_access_key(access_key_id)

    def authenticate(self, access_key_id: str, session_token: str | None = None
                     ) -> tuple[Principal, str]:
        """Like :meth:`resolve_access_key`, checking the session token of temporary credentials."""
        return self.iam.authenticate(access_key_id, session_token)

    def explain(self, principal: Principal | IAMUser | IAMRole | str | None, action: str,
                key: str | Key | None, context: Mapping[str, str] | None = None, *,
                region: str | None = None, via_service: str | None = None,
                source_ip: str | None = None, user_agent: str | None = None,
                grant_tokens: Iterable[str] = (),
                conditions: Mapping[str, object] | None = None) -> Decision:
        """Would ``principal`` be allowed ``action`` on ``key``? A Decision that says why.

        Makes no request and changes nothing. ``action`` is ``"kms:Encrypt"`` or
        ``"Encrypt"``; ``key`` any key id form (None or ``"*"`` for IAM-only
        actions such as kms:CreateKey); ``context`` the encryption context;
        ``via_service`` a service calling for the principal
        (``"s3.us-east-1.amazonaws.com"``), which then is the request's source
        and user agent unless ``source_ip``/``user_agent`` say otherwise (a direct
        call: ``127.0.0.1`` and ``kmslab``); ``conditions`` extra condition keys
        (``{"aws:SourceIp": ...}``). The request context holds the global keys
        every request carries (``aws:SecureTransport``, ``aws:CurrentTime``...).
        Show it, or use ``.allowed``, ``.text()``, ``.records()``, ``.context()``.
        """
        caller = self.principal(principal)
        region = region or self.default_region
        service = self.kms_service(caller.account_id, region) if key not in (None, "*") \
            and not isinstance(key, Key) else None
        return explain(self.env, caller, action, key, context, region=region, service=service,
                       via_service=via_service, source_ip=source_ip, user_agent=user_agent,
                       grant_tokens=grant_tokens, conditions=conditions)

    def key_arn(self, key_identifier: str, *, account: str | None = None,
                region: str | None = None) -> str:
        """The ARN of the key a KeyId names (key id, key ARN, alias name or alias ARN)."""
        svc = self.kms_service(account or self.default_account, region or self.default_region)
        return svc.resolve(key_identifier).arn

    # ------------------------------------------------------------ notebooks
    def frame(self, what: str = "keys"):
        """A DataFrame of the lab: ``lab.frame("keys")``, ``"key_versions"``, ``"aliases"``,
        ``"grants"``, ``"policies"`` or ``"audit"``; the same as ``kmslab.frames.<what>(lab)``,
        where each function also takes its options."""
        from . import frames
        return frames.frame(self, what)

    def simulate(self, duration: timedelta | float = 1.0, *, rate: float = 100.0,
                 mix: dict[str, float] | None = None, principals=None, keys=None,
                 encryption_context: dict | None = None, plaintext_size: int = 64,
                 region: str | None = None, progress: bool = True, cloudtrail_logs=None):
        """Drive simulated traffic through the lab (see :func:`kmslab.workload.simulate`).

        ``duration`` (a timedelta or days) of Poisson arrivals at ``rate``
        requests per hour, operations drawn from ``mix`` (e.g.
        ``{"Encrypt": 0.5, "Decrypt": 0.4, "GenerateDataKey": 0.1}``), by
        ``principals`` on ``keys``; the clock advances between requests so
        rotations and deletions fire on time; failures are recorded, not
        raised. Returns a summary DataFrame (one row per principal and operation).
        ``cloudtrail_logs=directory`` delivers the run's audit records to CloudTrail's
        log file layout as they are made, instead of keeping them in ``lab.audit``.
        """
        from .workload import simulate
        return simulate(self, duration, rate=rate, mix=mix, principals=principals, keys=keys,
                        encryption_context=encryption_context, plaintext_size=plaintext_size,
                        region=region, progress=progress, cloudtrail_logs=cloudtrail_logs)

    def enable_request_quotas(self, overrides: Mapping[str, float] | None = None):
        """Throttle requests beyond AWS KMS's request quotas (off by default).

        Each quota (requests per second, per account and Region) is a token
        bucket on the lab clock: requests at the same simulated instant share
        one second's budget, and ``lab.clock.advance(seconds=1)`` refills it.
        A request over the quota fails with ThrottlingException ("Rate
        exceeded") and is audited. ``overrides`` maps quota names (see
        ``kmslab.quotas.table()``) to requests per second. Returns the
        :class:`kmslab.quotas.RequestQuotas` in force (``.table()``, ``.usage()``).
        """
        from .quotas import RequestQuotas
        self.disable_request_quotas()
        self.request_quotas = RequestQuotas(self.default_region, overrides)
        self.hooks.add_before(self.request_quotas.check)
        return self.request_quotas

    def disable_request_quotas(self) -> None:
        """Stop throttling (the default): no request is ever refused for its rate."""
        quotas = getattr(self, "request_quotas", None)
        if quotas is not None:
            self.hooks.remove(quotas.check)
            self.request_quotas = None

    def handle(self, operation: str, params: dict, *, region: str | None = None,
               caller: Principal | None = None, source_ip: str = "127.0.0.1",
               user_agent: str = "kmslab", via_service: str | None = None) -> dict:
        """Serve one KMS request (every front end ends here)."""
        caller = caller or self.admin()
        region = region or self.default_region
        svc = self.kms_service(caller.account_id, region)
        return svc.handle(Request(operation, params, caller, region, source_ip, user_agent,
                                  via_service))

    # ------------------------------------------------------------ snapshots
    def save(self, path, passphrase: str | bytes) -> None:
        """Save the whole lab to ``path``, encrypted under ``passphrase`` (atomic write).

        The snapshot is a data document (``docs/snapshot-format.md``); SnapshotError if the
        lab holds an action your own code scheduled on the clock.
        """
        from . import snapshot
        snapshot.save(self, path, passphrase)

    @classmethod
    def load(cls, path, passphrase: str | bytes) -> Lab:
        """A lab saved with :meth:`save`; SnapshotError (saying why) for a wrong passphrase,
        any change, damage, a format this kmslab does not read, or anything else wrong."""
        from . import snapshot
        return snapshot.load(path, passphrase)

    def to_bytes(self, passphrase: str | bytes) -> bytes:
        """The lab as encrypted snapshot bytes (for a download button)."""
        from . import snapshot
        return snapshot.save_bytes(self, passphrase)

    @classmethod
    def from_bytes(cls, data: bytes, passphrase: str | bytes) -> Lab:
        """A lab from :meth:`to_bytes` output (SnapshotError as for :meth:`load`)."""
        from . import snapshot
        return snapshot.load_bytes(data, passphrase)

    @classmethod
    def from_seed(cls, source, *, allow_testing_material: bool = False,
                  credentials_file=None) -> Lab:
        """A lab described by a seed file (JSON/YAML path) or document; see :mod:`kmslab.seed`."""
        from . import seed
        return seed.from_seed(source, allow_testing_material=allow_testing_material,
                              credentials_file=credentials_file)

    def to_seed(self) -> dict:
        """A seed document for this lab's accounts, principals and keys (no material, no secrets)."""
        from . import seed
        return seed.to_seed(self)


_DEFAULT_LAB: Lab | None = None


def default_lab() -> Lab:
    """The lab ``kmslab.client()`` uses (created on first use)."""
    global _DEFAULT_LAB
    if _DEFAULT_LAB is None:
        _DEFAULT_LAB = Lab()
    return _DEFAULT_LAB


def _json(policy: str | Mapping) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy, indent=2)
