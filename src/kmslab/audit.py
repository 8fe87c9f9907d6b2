"""The audit trail: one immutable CloudTrail-shaped record per request, stored as columns.

Every request, success or failure, and every action the service takes by
itself (rotation, deletion, expiry), is recorded. Records are kept as columns
and dictionary-encoded, as columnar formats do: each distinct
requestParameters, principal, key, error... is stored once in a pool, and
each distinct combination of them (a :class:`Shape`: what a million Encrypt
calls of one application mostly share) once more. A row holds a shape code;
eventTime and requestID are runs (the virtual clock ticks far less often than
calls are made, and request ids count up with the rows). Recording a call is
one lookup of what makes it alike to earlier calls and one array append; a
DataFrame of a million records is built from the codes without touching the
rows one by one; CloudTrail JSON is rendered on demand
(:meth:`AuditLog.record_at`).

What CloudTrail logs, kmslab logs: request members that are not blobs or
sensitive (never plaintext, ciphertext or key material), the key ARN in
``resources``, ``responseElements`` only where CloudTrail has them (CreateKey's
``keyMetadata``, ImportKeyMaterial's ``keyId`` and ``keyMaterialId``...),
``additionalEventData`` for cryptographic operations and CreateKey (the
``keyMaterialId`` of symmetric ones, the custom key store of a key in one),
``errorCode`` and ``errorMessage`` on failures. A call using a key of another account is
recorded in both accounts' trails (``recipientAccountId``), the two records sharing a
``sharedEventID``; a call denied access only in the caller's. ``frame(account=...)`` and
``filter(account=...)`` give what one account's CloudTrail holds.

    >>> lab.audit.filter(event_name="Decrypt", key="alias/app").frame()
    >>> lab.audit.to_cloudtrail("trail.json")
    >>> AuditLog.from_cloudtrail("trail.json").records() == lab.audit.records()
    True
"""

from __future__ import annotations

import base64
import functools
import gzip
import itertools
import json
import os
import sys
import uuid
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from .clock import parse_time
from .frozen import FrozenDict
from .frozen import freeze as _freeze
from .operations.model import camel as _camel
from .plaindata import DataError, RawJSON, check_plain, compact_json, compact_json_bytes, plain_copy

__all__ = ["AuditLog", "AuditView", "AuditTable", "AuditStore", "AuditDataError", "RawJSON", "LastUse",
           "FrozenDict", "logged_members", "EVENT_VERSION", "TRAIL_ERROR_CODES"]

EVENT_VERSION = "1.11"
EVENT_SOURCE = "kms.amazonaws.com"
AWS_INTERNAL = "AWS Internal"
UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NONE = -1  # the code of an absent value (no key, no error, null requestParameters)
_ALIKE_CACHE_SIZE = 1 << 16  # calls remembered for sharing their shape with later calls alike
#: the times a stored trail may hold (a lab's world: 1970 to 2199)
_FIRST, _LAST = _EPOCH, datetime(2200, 1, 1, tzinfo=UTC)
_FIRST_US, _LAST_US = 0, (_LAST - _EPOCH) // _MICROSECOND

#: API error code -> the errorCode CloudTrail writes (KMS logs denials as AccessDenied)
TRAIL_ERROR_CODES = {"AccessDeniedException": "AccessDenied"}

# What CloudTrail logs for each operation (readOnly, responseElements, members logged with
# their default, keyId as the ARN, additionalEventData) is the operation's ``audit`` facts in
# the operation table (kmslab.operations); the request members it logs come from the model.

#: sharedEventIDs are name-based UUIDs of the caller's record's eventID (unique, reproducible)
_SHARED_EVENTS = uuid.UUID("6d1f4c2e-8a3b-5e7f-9c0d-2b4a6e8f1a3c")

_TLS_VERSION, _CIPHER_SUITE = "TLSv1.3", "TLS_AES_256_GCM_SHA384"


# ----------------------------------------------------------------- values

def _service_principal(via_service: str | None) -> str | None:
    """CloudTrail names the calling service without its Region: ``s3.amazonaws.com``.

    (``kms:ViaService`` carries the Regional endpoint, ``s3.us-east-1.amazonaws.com``.)
    """
    if not via_service:
        return None
    name, _, rest = via_service.partition(".")
    return f"{name}.amazonaws.com" if rest.endswith("amazonaws.com") else via_service


#: where a call's logged request members start in the tuple :func:`_alike_function` makes
_PARAMS_AT = 9


@functools.cache
def _alike_function(operation: str) -> Callable[[Any, Any, Any], tuple]:
    """``alike(call, request, outcome)``: what makes calls of ``operation`` alike, hashable.

    The operation, the caller and where it called from, the keys, the outcome
    (key material or error), then from ``_PARAMS_AT`` on the logged request
    members: maps (an encryption context) as tuples of their items, lists of
    strings as tuples, anything nested :func:`_freeze`. Generated once per
    operation as one expression, since it runs on every call; it raises
    TypeError or AttributeError on values of the wrong type (a request that
    failed validation).

    The source is built from the operation's logged members in AWS's model
    (names and types only). No value a lab holds, a request carries or a
    snapshot restores ever becomes part of it: the operation name reaches the
    function as a bound constant, the request's values only as data at call time.
    """
    members = logged_members(operation)
    shape = _input_shape(operation)
    parts = []
    for i, name in enumerate(members):
        if not name.isidentifier():  # model member names are identifiers; anything else is refused
            raise ValueError(f"unexpected member name {name!r} in the model of {operation}")
        member = shape.members[name] if shape is not None else None
        kind = member.type_name if member is not None else None
        get = f"p.get({name!r})"
        if kind == "map" and member.value.type_name not in ("structure", "map", "list"):
            parts.append(f"(None if (v{i} := {get}) is None else tuple(v{i}.items()))")
        elif kind == "list" and member.member.type_name not in ("structure", "map", "list"):
            parts.append(f"(None if (v{i} := {get}) is None else tuple(v{i}))")
        elif kind is None or kind in ("list", "map", "structure"):
            parts.append(f"_freeze({get})")
        else:
            parts.append(get)
    source = "\n    ".join([
        "def alike(call, request, outcome):",
        "p, key, extra = request.params, call.key, call.extra_keys",
        "return (OPERATION, id(call.caller), call.service, request.source_ip, request.user_agent,",
        "        request.via_service, None if key is None else key.arn,",
        "        tuple([k.arn for k in extra]) if extra else None, outcome,",
        f"        {''.join(part + ', ' for part in parts)})"]) + "\n"
    env = {"_freeze": _freeze, "OPERATION": operation}
    exec(compile(source, "<kmslab audit alike>", "exec"), env)
    return env["alike"]


def _read_only(value):
    """Deep read-only copy (FrozenDict / tuple) of a JSON-like value."""
    if isinstance(value, dict):
        return FrozenDict({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_read_only(v) for v in value)
    return value




def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _java_time(when: datetime) -> str:
    """Dates inside request/response elements, as CloudTrail writes them:
    ``May 21, 2025, 5:47:45 AM`` (ct-createkey, ct-replicate-key, ct-schedule-key-deletion)."""
    when = when.astimezone(UTC)
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def _parse_time(text: str) -> int:
    return (parse_time(text) - _EPOCH) // _MICROSECOND


def _loggable(shape) -> bool:
    return shape.type_name != "blob" and not shape.metadata.get("sensitive")


def _render(shape, value):
    """A request or response value as CloudTrail writes it, guided by AWS's model.

    Structure members become camelCase, map keys (encryption context) stay as
    given, blobs and sensitive members are dropped at any depth, timestamps
    use KMS's log format.
    """
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {_camel(n): _render(members[n], v) for n, v in value.items()
                if n in members and _loggable(members[n])}
    if kind == "list" and isinstance(value, (list, tuple)):
        return [_render(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _render(shape.value, v) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, datetime):
        return _java_time(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return None  # a value of the wrong type (a failed validation): not logged


@functools.cache
def _model():
    from .operations.model import kms_model  # the model is data; imported lazily
    return kms_model()


def _input_shape(operation: str):
    """The request shape of ``operation``: its OperationSpec's (None for a name KMS does not have)."""
    from .operations import specs
    op = specs().get(operation)
    return None if op is None else op.input_shape


#: grant tokens are bearer credentials: whoever holds one may use the grant (never logged)
_BEARER = frozenset({"GrantToken", "GrantTokens"})


@functools.cache
def logged_members(operation: str) -> tuple[str, ...]:
    """Request members CloudTrail logs for ``operation``: never blobs, sensitive members or
    grant tokens."""
    try:
        shape = _model().operation_model(operation).input_shape
    except Exception:
        return ()
    if shape is None:
        return ()
    return tuple(name for name, s in shape.members.items()
                 if _loggable(s) and name not in _BEARER)


@functools.cache
def tracked_operations() -> frozenset[str]:
    """The operations GetKeyLastUsage tracks (their ``audit.tracked`` fact)."""
    from .operations import specs
    return frozenset(name for name, spec in specs().items() if spec.audit.tracked)


# ----------------------------------------------------------------- pools

class _Pool:
    """Dictionary encoding: each distinct value once; rows hold its index (its code)."""

    __slots__ = ("values", "index")

    def __init__(self):
        self.values: list = []
        self.index: dict = {}

    def add(self, key, value) -> int:
        code = self.index[key] = len(self.values)
        self.values.append(value)
        return code

    def code(self, key, make: Callable[[], Any]) -> int:
        code = self.index.get(key)
        return self.add(key, make()) if code is None else code


class EventKind(NamedTuple):
    """eventName, eventType and readOnly: what kind of event a row is."""
    name: str
    type: str
    read_only: bool


class Origin(NamedTuple):
    """Who called from where: userIdentity and the request's origin, shared by many rows."""
    identity: FrozenDict      # CloudTrail's userIdentity
    arn: str | None           # the caller's ARN (None for service events)
    type: str | None          # IAMUser, AssumedRole, Root, AWSService (None for service events)
    name: str                 # a readable principal name: user name, role/session, root...
    account: str              # recipientAccountId
    region: str               # awsRegion
    source_ip: str
    user_agent: str
    invoked_by: str | None    # the AWS service that called on the principal's behalf
    tls: FrozenDict | None    # tlsDetails


class Resources(NamedTuple):
    """The KMS keys a record names: ARNs in CloudTrail's order (ReEncrypt: source, destination)."""
    arns: tuple[str, ...]
    rendered: tuple[FrozenDict, ...]


class LastUse(NamedTuple):
    """The last successful tracked cryptographic operation on a key (GetKeyLastUsage)."""
    operation: str
    time: datetime
    event_id: str
    request_id: str | None


class Shape(NamedTuple):
    """What a row shares with every call alike: codes into the pools (-1: absent).

    Rows hold one shape code; a million Encrypt calls of one application with
    a handful of encryption contexts are a handful of shapes.
    """
    event: int
    origin: int
    resources: int
    params: int
    additional: int
    error: int


def _principal_name(principal) -> str:
    kind = principal.type
    if kind == "Root":
        return "root"
    if kind == "AWSService":
        return principal.service or principal.name
    if kind == "AssumedRole":
        return principal.arn.split(":assumed-role/", 1)[-1]
    return principal.name or principal.arn.rsplit("/", 1)[-1]


class _OwnResources(Resources):
    """Resources rendered by :func:`_resources` (as kmslab renders them): saved as their ARNs."""
    __slots__ = ()


def _resources(arns: tuple[str, ...]) -> Resources:
    return _OwnResources(arns, tuple(
        FrozenDict(accountId=a.split(":")[4], type="AWS::KMS::Key", ARN=a) for a in arns))


class _OpInfo(NamedTuple):
    name: str
    event: int
    logged: frozenset
    alike: Callable[[Any, Any, Any], tuple]  # see _alike_function
    shape: Any
    additional: bool          # logs additionalEventData (key material, custom key store)
    defaults: dict
    key_id_as_arn: bool
    response_members: tuple | None
    output_shape: Any
    key_arn_response: bool    # responseElements.keyId: the key ARN
    request_logged: bool      # requestParameters (False: null)
    resources_logged: bool    # the key in resources (False: an empty list)
    alias_member: str | None  # the member naming an alias: its ARN is a resource too


# ----------------------------------------------------------------- reading API

class _Trail:
    """What a trail and a filtered view of it share: records, frames, export, filters."""

    _log: AuditLog

    def _rows(self) -> range | list[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._rows())

    def records(self) -> list[dict]:
        """The records, oldest first, as CloudTrail JSON objects (fresh dicts)."""
        at = self._log.record_at
        return [at(i) for i in self._rows()]

    def __iter__(self) -> Iterator[dict]:
        at = self._log.record_at
        return (at(i) for i in self._rows())

    def table(self) -> AuditTable:
        """The dictionary-encoded columns behind these records (what frames are built from)."""
        return self._log._table(self._rows())

    def frame(self, *, account: str | None = None, request_id: bool = True,
              expand_context: bool = False):
        """The records as a pandas DataFrame, one row per record, oldest first.

        Real dtypes: ``eventTime`` is datetime64[ns, UTC]; repeated strings are
        categoricals; ``readOnly`` and ``success`` are booleans; the encryption
        context and requestParameters are dict columns (categorical: each
        distinct dict once); requestID, the column to join with a response's
        ``ResponseMetadata.RequestId`` (``request_id=False`` leaves it out);
        ``expand_context=True`` adds one ``encryptionContext.<key>`` column per
        context key; ``account`` keeps only what that account's CloudTrail holds (its
        ``recipientAccountId``: its own calls, and other accounts' use of its keys). See
        :func:`kmslab.frames.audit_frame`.
        """
        from .frames import audit_frame
        trail = self if account is None else self.filter(account=account)
        return audit_frame(trail, request_id=request_id, expand_context=expand_context)

    def to_cloudtrail(self, path: str | os.PathLike | None = None) -> dict | str:
        """``{"Records": [...]}`` as CloudTrail delivers log files; written to ``path`` if given.

        A path ending in ``.gz`` is gzip-compressed, like CloudTrail's own files.
        Returns the document, or the path written.
        """
        doc = {"Records": self.records()}
        if path is None:
            return doc
        with _open(path, "wt") as f:
            json.dump(doc, f)
        return os.fspath(path)

    def to_jsonl(self, path: str | os.PathLike | None = None) -> str:
        """JSON Lines: one record per line. Returns the text, or writes it to ``path``."""
        if path is None:
            return "".join(json.dumps(r) + "\n" for r in self)
        with _open(path, "wt") as f:
            for r in self:
                f.write(json.dumps(r))
                f.write("\n")
        return os.fspath(path)

    def export_cloudtrail_logs(self, directory: str | os.PathLike, **options) -> list[str]:
        """Write the records in CloudTrail's delivery layout under ``directory``
        (``AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/*.json.gz``, one tree per
        ``recipientAccountId`` and Region); returns the files written. See
        :mod:`kmslab.audit_files` (``interval``, ``records_per_file``)."""
        from .audit_files import export_cloudtrail_logs
        return export_cloudtrail_logs(self, directory, **options)

    def to_parquet(self, path: str | os.PathLike) -> str:
        """Write the records as one Parquet table with CloudTrail's field names (needs
        pyarrow: ``pip install "kmslab[parquet]"``); see :mod:`kmslab.audit_parquet`."""
        from .audit_parquet import write_parquet
        return write_parquet(self, path)

    def filter(self, start: datetime | str | None = None, end: datetime | str | None = None,
               event_name: str | Iterable[str] | None = None, key: str | None = None,
               principal: Any = None, success: bool | None = None,
               event_type: str | None = None, error_code: str | Iterable[str] | None = None,
               account: str | None = None) -> AuditView:
        """The records that match every given criterion (a view: same API as the trail).

        ``start`` (inclusive) and ``end`` (exclusive) are datetimes (naive means
        UTC) or ISO strings; ``event_name`` and ``error_code`` one name or
        several; ``key`` any key identifier (key id, key ARN, alias name, alias
        ARN), matched against the record's ``resources`` (ReEncrypt matches
        both keys); ``principal`` an ARN, a user name, a role ARN (matches its
        sessions) or a Principal; ``success`` True for calls without an
        errorCode; ``event_type`` ``AwsApiCall`` or ``AwsServiceEvent``; ``account`` the
        account whose trail holds the record (``recipientAccountId``: a cross-account call
        is in the caller's and in the key owner's).
        """
        return AuditView(self._log, self._log._select(
            self._rows(), start, end, event_name, key, principal, success, event_type,
            error_code, account))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self)} records>"

    def _repr_html_(self) -> str | None:
        try:
            return self.frame()._repr_html_()
        except Exception:  # pragma: no cover - pandas missing
            return None


def _open(path, mode):
    path = os.fspath(path)
    if path.endswith(".gz"):
        return gzip.open(path, mode, encoding="utf-8")
    return open(path, mode, encoding="utf-8")


class AuditView(_Trail):
    """A filtered selection of a trail's records (``lab.audit.filter(...)``)."""

    def __init__(self, log: AuditLog, rows: list[int] | range):
        self._log = log
        self._row_list = rows

    def _rows(self):
        return self._row_list

    def record_at(self, i: int) -> dict:
        """The ``i``-th record of this view."""
        return self._log.record_at(self._row_list[i])


class AuditTable(NamedTuple):
    """A trail as dictionary-encoded columns: per-row codes plus the pools they index.

    ``rows`` selects rows of the full columns (a range for the whole trail).
    Each row holds a ``shape`` code (its time is in the runs ``time_starts``
    and ``time_values``); ``shapes`` (:class:`Shape`) hold codes into the
    pools: ``events`` (EventKind), ``origins`` (Origin), ``resources_pool``
    (Resources), ``params_pool`` (FrozenDict requestParameters),
    ``additional_pool`` (FrozenDict additionalEventData / serviceEventDetails),
    ``errors`` ((errorCode, errorMessage)). Code -1 means absent.
    """

    rows: range | list[int]
    time_starts: array      # eventTime as runs: from row time_starts[i] on, time_values[i]
    time_values: array      # (microseconds since 1970-01-01 UTC)
    shape: array            # per row: its index in ``shapes``
    shapes: list
    events: list
    origins: list
    resources_pool: list
    params_pool: list
    additional_pool: list
    errors: list
    responses: dict         # row -> responseElements, for the rows that have them
    sorted: bool            # rows are in time order
    event_id: Callable[[int], str]
    request_id: Callable[[int], str | None]


# ----------------------------------------------------------------- the store

def _column_data(column: array) -> str:
    """An array column as plain data: its items little-endian, base64 text."""
    if sys.byteorder != "little":
        column = array(column.typecode, column)
        column.byteswap()
    return base64.b64encode(column.tobytes()).decode("ascii")


def _column(text: Any, typecode: str, what: str) -> array:
    column = array(typecode)
    if not isinstance(text, str):
        raise AuditDataError(what, "expected base64 text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise AuditDataError(what, "expected base64 text") from None
    if len(raw) % column.itemsize:
        raise AuditDataError(what, f"expected a whole number of {column.itemsize}-byte items")
    column.frombytes(raw)
    if sys.byteorder != "little":
        column.byteswap()
    return column


def _plain_data(value):
    """A pool value as plain JSON data: read-only dicts and tuples become dicts and lists;
    a key that is not a string (a request that failed validation) becomes its text, as JSON
    writes it, and so does any other value JSON has no form for."""
    if isinstance(value, dict):
        return {_key_text(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_data(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _key_text(key) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)  # true, null, 12, 1.5: as JSON writes a key of these types
    return str(key)


class AuditDataError(ValueError):
    """The plain data of a trail is wrong (``where`` names the field)."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class AuditStore:
    """Where a trail's records live: dictionary-encoded columns and the pools they index.

    Its interface is small: :meth:`append` adds a row, :meth:`table` gives the
    columns (what frames are built from), :meth:`record` renders one record as
    CloudTrail JSON. :meth:`to_data` and :meth:`from_data` turn it into plain
    data and back (lab snapshots): arrays of codes and runs, and the pools'
    values. The pools' lookup indexes are caches, rebuilt from the values.

    A row holds a shape code (:class:`Shape`, into ``shapes``); eventTime is
    kept as runs (from row ``time_starts[i]`` on, ``time_values[i]``
    microseconds: the virtual clock ticks far less often than calls are made);
    requestID as runs of the lab's request counter (from row ``seq_starts[i]``
    on, a row's counter is the row plus ``seq_offsets[i]``, so a million
    records keep no strings), and rows with any other id (or none) in
    ``other_request_ids``.
    """

    def __init__(self, event_prefix: str, request_id_at: Callable[[int], str] | None = None):
        self.event_prefix = event_prefix  # eventIDs: a per-trail prefix plus the row number
        self.request_id_at = request_id_at  # the lab's request counter -> request id
        # one shape code per row (appended last: a row is complete once its shape is there)
        self.shape = array("i")
        self.time_starts, self.time_values = array("q"), array("q")
        self.seq_starts, self.seq_offsets = array("q"), array("q")
        self.seq_offset: int | None = None
        self.other_request_ids: dict[int, str | None] = {}
        #: sharedEventID of the rows one cross-account call wrote in several accounts' trails
        self.shared_event_ids: dict[int, str] = {}
        self.responses: dict[int, FrozenDict] = {}  # responseElements of the rows that have them
        self.event_ids: list[str] | None = None   # imported trails keep their eventIDs
        self.overrides: dict[int, FrozenDict] = {}  # imported records kmslab would not render alike
        self.sorted = True
        self.shapes = _Pool()
        self.events = _Pool()
        self.origins = _Pool()
        self.resource_pool = _Pool()
        self.param_pool = _Pool()
        self.additional_pool = _Pool()
        self.error_pool = _Pool()
        # GetKeyLastUsage: key ARN -> the shapes of its tracked uses; (rows looked at, last row)
        self.tracked: dict[str, set[int]] = {}
        self.last_use_cache: dict[str, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.shape)

    # ------------------------------------------------------------ writing
    def append(self, shape: int, us: int | None, request_id: str | None = None,
               seq: int | None = None, response: FrozenDict | None = None) -> None:
        """Append one row: its shape code, its time (None: the time of the row before),
        its request id (``seq``: the lab's request counter that made it), its responseElements."""
        shapes = self.shape
        row = len(shapes)
        if us is not None:
            self._at_time(row, us)
        if seq is not None:
            if seq - row != self.seq_offset:
                self._start_seq_run(row, seq - row)
        else:
            self.other_request_ids[row] = request_id
        if response is not None:
            self.responses[row] = response
        shapes.append(shape)

    def _at_time(self, row: int, us: int) -> None:
        """Row ``row`` happened at ``us``: a new run of eventTime unless the time is the same."""
        values = self.time_values
        if values and values[-1] == us:
            return
        if values and us < values[-1]:
            self.sorted = False
        self.time_starts.append(row)
        values.append(us)

    def _start_seq_run(self, row: int, offset: int) -> None:
        """From ``row`` on, a row's request counter is the row plus ``offset``."""
        self.seq_starts.append(row)
        self.seq_offsets.append(offset)
        self.seq_offset = offset

    def shape_code(self, shape: Shape) -> int:
        """The code of ``shape`` (added to the pool if new)."""
        code = self.shapes.index.get(shape)
        if code is None:
            code = self.shapes.add(shape, shape)
            self._track(code, shape)
        return code

    def _track(self, code: int, shape: Shape) -> None:
        kind = self.events.values[shape.event]
        if shape.error == _NONE and shape.resources != _NONE and kind.type == "AwsApiCall" \
                and kind.name in tracked_operations():
            for arn in self.resource_pool.values[shape.resources].arns:
                self.tracked.setdefault(arn, set()).add(code)

    # ------------------------------------------------------------ reading
    def event_id(self, row: int) -> str:
        """The eventID of a row (unique in the trail; a UUID)."""
        if self.event_ids is not None:
            return self.event_ids[row]
        return f"{self.event_prefix}{row:012x}"

    def request_id(self, row: int) -> str | None:
        """The requestID of a row (a service event of KMS itself may have none)."""
        other = self.other_request_ids
        if row in other:
            return other[row]
        offset = self.seq_offsets[bisect_right(self.seq_starts, row) - 1]
        return self.request_id_at(row + offset)

    def time_us(self, row: int) -> int:
        """A row's eventTime, in microseconds since 1970-01-01 UTC."""
        return self.time_values[bisect_right(self.time_starts, row) - 1]

    def last_use(self, key_arn: str) -> LastUse | None:
        """The last successful tracked cryptographic operation on a key (GetKeyLastUsage).

        The newest row with a shape that is a tracked use of the key; rows are
        looked at once, newest first, and the answer kept for the next question.
        """
        uses = self.tracked.get(key_arn)
        if not uses:
            return None
        seen, row = self.last_use_cache.get(key_arn, (0, -1))
        column = self.shape
        n = len(column)
        for newer in range(n - 1, seen - 1, -1):
            if column[newer] in uses:
                row = newer
                break
        self.last_use_cache[key_arn] = (n, row)
        if row < 0:
            return None
        return LastUse(self.events.values[self.shapes.values[column[row]].event].name,
                       _EPOCH + timedelta(microseconds=self.time_us(row)), self.event_id(row),
                       self.request_id(row))

    def record(self, row: int) -> dict:
        """One record in CloudTrail's JSON shape (a fresh dict)."""
        if self.overrides:
            original = self.overrides.get(row)
            if original is not None:
                return plain_copy(original)
        shape: Shape = self.shapes.values[self.shape[row]]
        kind: EventKind = self.events.values[shape.event]
        origin: Origin = self.origins.values[shape.origin]
        api_call = kind.type == "AwsApiCall"
        rec: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": plain_copy(origin.identity),
            "eventTime": _iso(self.time_us(row)),
            "eventSource": EVENT_SOURCE,
            "eventName": kind.name,
            "awsRegion": origin.region,
            "sourceIPAddress": origin.source_ip,
            "userAgent": origin.user_agent,
        }
        ec = shape.error
        if ec != _NONE:
            rec["errorCode"], rec["errorMessage"] = self.error_pool.values[ec]
        pc = shape.params
        params = self.param_pool.values[pc] if pc != _NONE else None
        rec["requestParameters"] = plain_copy(params) if params else None  # no members: null
        resp = self.responses.get(row)
        rec["responseElements"] = plain_copy(resp) if resp is not None else None
        ac = shape.additional
        if api_call and ac != _NONE:
            rec["additionalEventData"] = plain_copy(self.additional_pool.values[ac])
        if api_call:
            rec["requestID"] = self.request_id(row)
        rec["eventID"] = self.event_id(row)
        rec["readOnly"] = kind.read_only
        rc = shape.resources
        if rc != _NONE:
            rec["resources"] = plain_copy(self.resource_pool.values[rc].rendered)
        rec["eventType"] = kind.type
        rec["managementEvent"] = True
        rec["recipientAccountId"] = origin.account
        shared = self.shared_event_ids.get(row) if self.shared_event_ids else None
        if shared is not None:
            rec["sharedEventID"] = shared
        if not api_call and ac != _NONE:
            rec["serviceEventDetails"] = plain_copy(self.additional_pool.values[ac])
        rec["eventCategory"] = "Management"
        if origin.tls is not None:
            rec["tlsDetails"] = plain_copy(origin.tls)
        return rec

    def table(self, rows) -> AuditTable:
        """The columns behind ``rows`` (the rows complete when asked: records may keep coming)."""
        n = len(self.shape)
        runs = bisect_right(self.time_starts, n - 1) if n else 0
        return AuditTable(  # slices are copies, taken without holding the arrays' buffers
            rows if not isinstance(rows, range) or rows.stop <= n else range(n),
            self.time_starts[:runs], self.time_values[:runs], self.shape[:n],
            list(self.shapes.values),
            list(self.events.values), list(self.origins.values),
            list(self.resource_pool.values), list(self.param_pool.values),
            list(self.additional_pool.values), list(self.error_pool.values),
            {r: v for r, v in list(self.responses.items()) if r < n}, self.sorted,
            self.event_id, self.request_id)

    # ------------------------------------------------------------ plain data
    def to_data(self) -> dict:
        """The store as plain data (see ``docs/snapshot-format.md``, "audit")."""
        out = self.to_data_head()
        out.update({
            "other_request_ids": [[row, rid] for row, rid in self.other_request_ids.items()],
            "shared_event_ids": [[row, sid] for row, sid in self.shared_event_ids.items()],
            "responses": [[row, _plain_data(r)] for row, r in self.responses.items()],
            "shapes": [list(s) for s in self.shapes.values],
            "events": [[e.name, e.type, e.read_only] for e in self.events.values],
            "origins": [_origin_data(o) for o in self.origins.values],
            "resources": [_resources_data(r) for r in self.resource_pool.values],
            "params": [_plain_data(p) for p in self.param_pool.values],
            "additional": [_plain_data(a) for a in self.additional_pool.values],
            "errors": [[code, message] for code, message in self.error_pool.values],
        })
        if self.event_ids is not None:
            out["event_ids"] = list(self.event_ids)
        if self.overrides:
            out["overrides"] = [[row, _plain_data(r)] for row, r in self.overrides.items()]
        return out

    def to_json_parts(self, cache: dict) -> list[bytes]:
        """:meth:`to_data` as compact JSON, in pieces to join, reusing ``cache`` from the last call.

        Rows and pool entries never change once written, so each call encodes
        only what was appended since the last one (a store saved every second
        costs the new records, not the whole trail). ``cache`` is a dict the
        caller keeps between calls (empty the first time).
        """
        if cache.get("store") is not self:
            cache.clear()
            cache["store"] = self
        parts = [compact_json(self.to_data_head())[:-1].encode()]
        for name in self._GROWING:
            done, pieces = cache.get(name, (0, []))
            entries = self._growing(name)
            if len(entries) > done:
                array = _entries_json(name, _appended(entries, done))
                self._extend_cache(cache, name, len(entries), memoryview(array)[1:-1])
                pieces = cache[name][1]
            parts.append(f',"{name}":['.encode())
            parts.extend(pieces)
            parts.append(b"]")
        if self.event_ids is not None:
            parts.append(b',"event_ids":' + compact_json_bytes(self.event_ids))
        if self.overrides:
            parts.append(b',"overrides":' + compact_json_bytes(
                [[row, _plain_data(r)] for row, r in self.overrides.items()]))
        parts.append(b"}")
        return parts

    _GROWING = ("other_request_ids", "shared_event_ids", "responses", "shapes", "events",
                "origins", "resources", "params", "additional", "errors")

    def _growing(self, name: str) -> list | dict:
        return {"other_request_ids": self.other_request_ids,
                "shared_event_ids": self.shared_event_ids, "responses": self.responses,
                "shapes": self.shapes.values, "events": self.events.values,
                "origins": self.origins.values, "resources": self.resource_pool.values,
                "params": self.param_pool.values, "additional": self.additional_pool.values,
                "errors": self.error_pool.values}[name]

    def marks(self) -> dict:
        """How much of each column and pool there is now (what :meth:`tail` counts from)."""
        out = {"rows": len(self.shape), "time_starts": len(self.time_starts),
               "seq_starts": len(self.seq_starts)}
        out.update({name: len(self._growing(name)) for name in self._GROWING})
        return out

    def tail(self, marks: dict, cache: dict | None = None) -> dict:
        """What was appended since ``marks`` (from :meth:`marks`), as plain data: the new rows'
        codes, the new runs, the new pool entries. Rows and pool entries never change once
        written, so the tail and what was saved before make the whole store (a snapshot's
        journal holds tails).

        ``cache``: the one :meth:`to_json_parts` keeps; when it stands at ``marks``, the new
        entries' text goes into it too, so the next whole store is not encoded again.
        """
        if self.event_ids is not None or self.overrides:
            raise ValueError("an imported trail is saved whole, not in tails")
        out: dict[str, Any] = {
            "from": dict(marks), "rows": len(self.shape), "sorted": self.sorted,
            "shape": _column_data(self.shape[marks["rows"]:]),
            "time_starts": _column_data(self.time_starts[marks["time_starts"]:]),
            "time_values": _column_data(self.time_values[marks["time_starts"]:]),
            "seq_starts": _column_data(self.seq_starts[marks["seq_starts"]:]),
            "seq_offsets": _column_data(self.seq_offsets[marks["seq_starts"]:])}
        shared = cache is not None and cache.get("store") is self
        for name in self._GROWING:
            entries = self._growing(name)
            new = _appended(entries, marks[name])
            array = _entries_json(name, new)
            out[name] = RawJSON(array)  # JSON text, written as it is
            if shared and new and cache.get(name, (0, []))[0] == marks[name]:
                self._extend_cache(cache, name, len(entries), memoryview(array)[1:-1])
        return out

    @staticmethod
    def _extend_cache(cache: dict, name: str, count: int, new: bytes | memoryview) -> None:
        _, pieces = cache.get(name, (0, []))
        pieces = [*pieces, b",", new] if pieces else [new]
        if len(pieces) > 64:  # keep the pieces few
            pieces = [b"".join(pieces)]
        cache[name] = (count, pieces)

    def to_data_head(self) -> dict:
        """The small part of :meth:`to_data`: counts, flags and the columns (not the pools)."""
        return {
            "rows": len(self.shape),
            "event_prefix": self.event_prefix,
            "sorted": self.sorted,
            "shape": _column_data(self.shape),
            "time_starts": _column_data(self.time_starts),
            "time_values": _column_data(self.time_values),
            "seq_starts": _column_data(self.seq_starts),
            "seq_offsets": _column_data(self.seq_offsets),
        }

    @classmethod
    def from_data(cls, data: Any, request_id_at: Callable[[int], str] | None) -> AuditStore:
        """A store from :meth:`to_data` output; AuditDataError names anything wrong.

        Every code is checked against its pool and every run against the rows,
        so a store read back can render each of its records.
        """
        return _StoreReader(data).read(cls, request_id_at)


def _appended(entries: list | dict, start: int) -> list:
    """The entries after the first ``start`` of a growing part (a list, or a dict by row in
    the order rows were added, as (row, value) pairs), oldest first: only they are looked at."""
    if isinstance(entries, list):
        return entries[start:]
    new = list(itertools.islice(reversed(entries.items()), len(entries) - start))
    new.reverse()
    return new


def _entries_json(name: str, entries: Iterable) -> bytes:
    """Entries of a growing part of a store as a JSON array, in one encoder call (if one holds
    a value JSON has no form for, every entry is written as its plain data)."""
    data = [_DATA[name](entry) for entry in entries]
    try:
        return compact_json_bytes(data)
    except TypeError:
        return compact_json_bytes(_plain_data(data))


def _same(value):
    return value


#: each growing part of a store's entries as data JSON can write (pairs and tuples as arrays)
_DATA: dict[str, Callable[[Any], Any]] = {
    "other_request_ids": _same,           # (row, request id)
    "shared_event_ids": _same,            # (row, shared event id)
    "responses": _same,                   # (row, response)
    "shapes": list,
    "events": lambda e: [e.name, e.type, e.read_only],
    "origins": lambda o: _origin_data(o),
    "resources": lambda r: _resources_data(r),
    "params": _same,
    "additional": _same,
    "errors": list,
}


def _origin_data(o: Origin) -> dict:
    return {"identity": _plain_data(o.identity), "arn": o.arn, "type": o.type, "name": o.name,
            "account": o.account, "region": o.region, "source_ip": o.source_ip,
            "user_agent": o.user_agent, "invoked_by": o.invoked_by, "tls": _plain_data(o.tls)}


def _resources_data(resources: Resources) -> dict:
    out: dict[str, Any] = {"arns": list(resources.arns)}
    if type(resources) is not _OwnResources and not _rendered_as_kmslab_does(resources):
        # an imported record's own rendering
        out["rendered"] = _plain_data(resources.rendered)
    return out


def _rendered_as_kmslab_does(resources: Resources) -> bool:
    """Whether ``resources.rendered`` is what :func:`_resources` makes of its ARNs."""
    arns, rendered = resources.arns, resources.rendered
    return len(arns) == len(rendered) and all(
        len(r) == 3 and r.get("ARN") == a and r.get("type") == "AWS::KMS::Key"
        and isinstance(a, str) and a.count(":") >= 5 and r.get("accountId") == a.split(":")[4]
        for a, r in zip(arns, rendered, strict=True))


class _StoreReader:
    """Checks the plain data of a store while building it (AuditStore.from_data)."""

    _FIELDS = {"rows", "event_prefix", "sorted", "shape", "time_starts", "time_values",
               "seq_starts", "seq_offsets", "other_request_ids", "shared_event_ids", "responses",
               "shapes", "events",
               "origins", "resources", "params", "additional", "errors", "event_ids", "overrides"}

    def __init__(self, data: Any):
        if not isinstance(data, dict):
            raise AuditDataError("audit", "expected an object")
        unknown = sorted(str(k) for k in data if k not in self._FIELDS)
        if unknown:
            raise AuditDataError(f"audit.{unknown[0]}", "unknown field")
        self.data = data

    def get(self, name: str, kind, what: str, default=_NONE):
        value = self.data.get(name, default)
        if value is _NONE or not isinstance(value, kind) or \
                (kind is int and isinstance(value, bool)):
            raise AuditDataError(f"audit.{name}", f"expected {what}")
        return value

    def list(self, name: str) -> list:
        return self.get(name, list, "an array", [])

    def read(self, cls, request_id_at) -> AuditStore:
        rows = self.get("rows", int, "a number of rows")
        if rows < 0:
            raise AuditDataError("audit.rows", "expected a number of rows")
        prefix = self.get("event_prefix", str, "an eventID prefix")
        if len(prefix) != 24 or prefix.count("-") != 4:
            raise AuditDataError("audit.event_prefix", "expected the first 24 characters of a UUID")
        store = cls(prefix, request_id_at)
        sorted_hint = self.get("sorted", bool, "true or false")
        self._pools(store)
        shape = _column(self.data.get("shape"), "i", "audit.shape")
        if len(shape) != rows:
            raise AuditDataError("audit.shape", f"expected {rows} shape codes, found {len(shape)}")
        if rows and not (0 <= min(shape) and max(shape) < len(store.shapes.values)):
            raise AuditDataError("audit.shape", "a shape code is not in audit.shapes")
        store.time_starts, store.time_values = self._runs("time_starts", "time_values", rows)
        if rows and not store.time_starts:
            raise AuditDataError("audit.time_starts", "the rows have no eventTime")
        if any(not _FIRST_US <= value < _LAST_US for value in store.time_values):
            raise AuditDataError("audit.time_values", "a time is outside 1970-2199")
        values = store.time_values
        store.sorted = sorted_hint and all(values[i] < values[i + 1] for i in range(len(values) - 1))
        store.seq_starts, store.seq_offsets = self._runs("seq_starts", "seq_offsets", rows)
        store.seq_offset = store.seq_offsets[-1] if store.seq_offsets else None
        for i, pair in enumerate(self.list("other_request_ids")):
            row, rid = self._row_pair(pair, "other_request_ids", i, rows)
            if rid is not None and not isinstance(rid, str):
                raise AuditDataError(f"audit.other_request_ids[{i}]", "expected a request id or null")
            store.other_request_ids[row] = rid
        first_seq = store.seq_starts[0] if store.seq_starts else rows
        if any(row not in store.other_request_ids for row in range(first_seq)):
            raise AuditDataError("audit.seq_starts", "a row has no request id")
        if store.seq_starts and request_id_at is None:
            raise AuditDataError("audit.seq_starts", "request counters need the lab's id source")
        for i, pair in enumerate(self.list("shared_event_ids")):
            row, sid = self._row_pair(pair, "shared_event_ids", i, rows)
            if not isinstance(sid, str):
                raise AuditDataError(f"audit.shared_event_ids[{i}]", "expected a sharedEventID")
            store.shared_event_ids[row] = sid
        for i, pair in enumerate(self.list("responses")):
            row, value = self._row_pair(pair, "responses", i, rows)
            store.responses[row] = _read_only(_object(value, f"audit.responses[{i}]"))
        event_ids = self.data.get("event_ids")
        if event_ids is not None:
            if not isinstance(event_ids, list) or len(event_ids) != rows:
                raise AuditDataError("audit.event_ids", f"expected {rows} eventIDs")
            if not all(e is None or isinstance(e, str) for e in event_ids):
                raise AuditDataError("audit.event_ids", "expected eventIDs (strings or null)")
            store.event_ids = list(event_ids)
        for i, pair in enumerate(self.list("overrides")):
            row, value = self._row_pair(pair, "overrides", i, rows)
            store.overrides[row] = _read_only(_object(value, f"audit.overrides[{i}]"))
        store.shape = shape
        return store

    def _runs(self, starts_name: str, values_name: str, rows: int) -> tuple[array, array]:
        starts = _column(self.data.get(starts_name), "q", f"audit.{starts_name}")
        values = _column(self.data.get(values_name), "q", f"audit.{values_name}")
        if len(starts) != len(values):
            raise AuditDataError(f"audit.{values_name}", f"expected one value per run of "
                                 f"audit.{starts_name}")
        previous = -1
        for start in starts:
            if not previous < start < rows:
                raise AuditDataError(f"audit.{starts_name}",
                                     "runs must start at increasing rows of the trail")
            previous = start
        if starts_name == "time_starts" and starts and starts[0] != 0:
            raise AuditDataError("audit.time_starts", "the first run must start at row 0")
        return starts, values

    @staticmethod
    def _row_pair(pair, name: str, i: int, rows: int):
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], int) \
                or isinstance(pair[0], bool) or not 0 <= pair[0] < rows:
            raise AuditDataError(f"audit.{name}[{i}]", "expected [row, value] for a row of the trail")
        return pair

    def _pools(self, store: AuditStore) -> None:
        for i, item in enumerate(self.list("events")):
            where = f"audit.events[{i}]"
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                    and item[1] in ("AwsApiCall", "AwsServiceEvent") and isinstance(item[2], bool)):
                raise AuditDataError(where, "expected [eventName, eventType, readOnly]")
            store.events.add((item[0], item[1]), EventKind(*item))
        for i, item in enumerate(self.list("origins")):
            origin = self._origin(item, f"audit.origins[{i}]")
            code = len(store.origins.values)
            store.origins.values.append(origin)
            if origin.arn is None and origin.type is None and origin.source_ip == AWS_INTERNAL:
                store.origins.index.setdefault(("AwsServiceEvent", origin.account, origin.region),
                                               code)
        for i, item in enumerate(self.list("resources")):
            resources = self._resources(item, f"audit.resources[{i}]")
            code = len(store.resource_pool.values)
            store.resource_pool.values.append(resources)
            if resources.arns and resources == _resources(resources.arns):
                arns = resources.arns
                store.resource_pool.index.setdefault(arns[0] if len(arns) == 1 else arns, code)
        for i, item in enumerate(self.list("params")):
            where = f"audit.params[{i}]"
            store.param_pool.values.append(_read_only(_request_parameters(item, where)))
        for i, item in enumerate(self.list("additional")):
            data = _additional(item, f"audit.additional[{i}]")
            store.additional_pool.add(("details", _freeze(data)), _read_only(data))
        for i, item in enumerate(self.list("errors")):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                    and (item[1] is None or isinstance(item[1], str))):
                raise AuditDataError(f"audit.errors[{i}]", "expected [errorCode, errorMessage]")
            store.error_pool.add((_api_code(item[0]), item[1]), tuple(item))
        sizes = (len(store.events.values), len(store.origins.values),
                 len(store.resource_pool.values), len(store.param_pool.values),
                 len(store.additional_pool.values), len(store.error_pool.values))
        for i, item in enumerate(self.list("shapes")):
            where = f"audit.shapes[{i}]"
            if not (isinstance(item, list) and len(item) == 6
                    and all(isinstance(c, int) and not isinstance(c, bool) for c in item)):
                raise AuditDataError(where, "expected six pool codes")
            shape = Shape(*item)
            for field, code, size in zip(Shape._fields, shape, sizes, strict=True):
                if not (_NONE <= code < size) or (code == _NONE and field in ("event", "origin")):
                    raise AuditDataError(where, f"{field} code {code} is not in its pool")
            store.shapes.add(shape, shape)
            store._track(len(store.shapes.values) - 1, shape)

    @staticmethod
    def _origin(item, where: str) -> Origin:
        fields = ("identity", "arn", "type", "name", "account", "region", "source_ip",
                  "user_agent", "invoked_by", "tls")
        if not isinstance(item, dict) or set(item) - set(fields):
            raise AuditDataError(where, f"expected an object with fields {', '.join(fields)}")
        identity = _object(item.get("identity"), f"{where}.identity")
        context = identity.get("sessionContext")
        if context is not None and not (isinstance(context, dict) and isinstance(
                context.get("sessionIssuer") or {}, dict)):
            raise AuditDataError(f"{where}.identity.sessionContext", "expected an object")
        for name in ("name", "account", "region", "source_ip", "user_agent"):
            if not isinstance(item.get(name), str):
                raise AuditDataError(f"{where}.{name}", "expected a string")
        for name in ("arn", "type", "invoked_by"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise AuditDataError(f"{where}.{name}", "expected a string or null")
        tls = item.get("tls")
        return Origin(_read_only(identity), item.get("arn"), item.get("type"), item["name"],
                      item["account"], item["region"], item["source_ip"], item["user_agent"],
                      item.get("invoked_by"),
                      None if tls is None else _read_only(_object(tls, f"{where}.tls")))

    @staticmethod
    def _resources(item, where: str) -> Resources:
        if not isinstance(item, dict) or set(item) - {"arns", "rendered"}:
            raise AuditDataError(where, "expected an object with arns (and rendered)")
        arns = item.get("arns")
        if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
            raise AuditDataError(f"{where}.arns", "expected an array of ARNs")
        rendered = item.get("rendered")
        if rendered is None:
            if not all(a.count(":") >= 5 for a in arns):
                raise AuditDataError(f"{where}.arns", "expected an array of ARNs")
            return _resources(tuple(arns))
        if not isinstance(rendered, list) or not all(isinstance(r, dict) for r in rendered):
            raise AuditDataError(f"{where}.rendered", "expected an array of objects")
        return Resources(tuple(arns), tuple(_read_only(r) for r in rendered))


def _object(value, where: str) -> dict:
    """A plain JSON object (string keys, plain values), or AuditDataError."""
    if not isinstance(value, dict):
        raise AuditDataError(where, "expected an object")
    try:
        check_plain(value, where)
    except DataError as err:
        raise AuditDataError(err.path, err.message) from None
    return value


#: requestParameters members frames read: encryption contexts (string maps) and algorithms
_CONTEXT_MEMBERS = ("encryptionContext", "sourceEncryptionContext", "destinationEncryptionContext")
_TEXT_MEMBERS = ("encryptionAlgorithm", "destinationEncryptionAlgorithm")


def _request_parameters(value, where: str) -> dict:
    params = _object(value, where)
    for name in _CONTEXT_MEMBERS:
        context = params.get(name)
        if context is not None and not (isinstance(context, dict) and all(
                isinstance(v, str) for v in context.values())):
            raise AuditDataError(f"{where}.{name}", "expected an object of strings")
    for name in _TEXT_MEMBERS:
        if params.get(name) is not None and not isinstance(params[name], str):
            raise AuditDataError(f"{where}.{name}", "expected a string")
    return params


def _additional(value, where: str) -> dict:
    data = _object(value, where)
    for name in ("keyMaterialId", "destinationKeyMaterialId", "sourceKeyMaterialId",
                 "customKeyStoreId"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise AuditDataError(f"{where}.{name}", "expected a string")
    return data


# ----------------------------------------------------------------- the trail

class AuditLog(_Trail):
    """CloudTrail for the lab: ``len(lab.audit)``, ``lab.audit.records()``, ``.frame()``, ``.filter()``.

    Records are kept in an :class:`AuditStore`; the log decides what a call
    records (and which calls are alike, so they share their encoding).
    """

    _read_only = False
    _deliveries = 0  # streaming deliveries made (kmslab.audit_files.delivering)
    _delivered_uses: dict[str, LastUse] = {}  # GetKeyLastUsage of the records delivered

    def __init__(self, ids=None, clock=None, *, store: AuditStore | None = None,
                 tracking_start: datetime | None = None):
        self._log = self
        self._ids = ids
        self._clock = clock
        #: when GetKeyLastUsage started tracking (the trail's start)
        self.tracking_start: datetime | None = tracking_start if store is not None else \
            clock.now() if clock is not None else None
        #: ``fn(key_identifier) -> key ARN`` for filters by alias (the lab sets it)
        self.key_resolver: Callable[[str], str] | None = None
        if store is None:
            base = ids.uuid4() if ids is not None else "00000000-0000-4000-8000-000000000000"
            store = AuditStore(base[:24], ids.request_id_at if ids is not None else None)
        self._store = store
        self._ops: dict[str, _OpInfo] = {}
        self._callers: dict[int, Any] = {}  # the callers whose id() keys the two caches below
        self._call_shapes: dict[tuple, int] = {}  # what makes calls alike -> their shape code
        self._last_alike: tuple | None = None
        self._last_shape = _NONE
        self._last_now: datetime | None = None  # the time of the last call recorded
        self._copies: dict[tuple[int, str], int] = {}  # (shape, key owner) -> the copy's shape

    def _rows(self):
        return range(len(self._store.shape))

    def __len__(self) -> int:
        return len(self._store.shape)

    def __repr__(self) -> str:
        kind = "read-only " if self._read_only else ""
        return f"<AuditLog: {len(self)} {kind}records>"

    # ------------------------------------------------------------ plain data
    def to_data(self) -> dict:
        """The trail as plain data (lab snapshots): its store's columns and pools."""
        return {"tracking_start": None if self.tracking_start is None else
                self.tracking_start.isoformat(), **self._store.to_data()}

    def marks(self) -> dict:
        """How far the trail goes now (see :meth:`AuditStore.marks`)."""
        return self._store.marks()

    def tail(self, marks: dict, cache: dict | None = None) -> dict:
        """The records appended since ``marks``, as plain data (see :meth:`AuditStore.tail`)."""
        return self._store.tail(marks, cache)

    def to_json_parts(self, cache: dict) -> list[bytes]:
        """:meth:`to_data` as JSON pieces, encoding only what was recorded since the last call
        with the same ``cache`` (see :meth:`AuditStore.to_json_parts`)."""
        start = compact_json(None if self.tracking_start is None else self.tracking_start.isoformat())
        parts = self._store.to_json_parts(cache)
        return [b'{"tracking_start":' + start.encode() + b"," + parts[0][1:], *parts[1:]]

    @classmethod
    def from_data(cls, data: Any, ids=None, clock=None) -> AuditLog:
        """A live trail from :meth:`to_data` output, recording on with ``ids`` and ``clock``.

        AuditDataError names anything wrong. Request counters are rendered by ``ids``.
        """
        if not isinstance(data, dict):
            raise AuditDataError("audit", "expected an object")
        data = dict(data)
        start = data.pop("tracking_start", None)
        tracking_start = None
        if start is not None:
            try:
                tracking_start = datetime.fromisoformat(start)
            except (TypeError, ValueError):
                raise AuditDataError("audit.tracking_start", "expected an ISO 8601 time") from None
            if tracking_start.tzinfo is None or not _FIRST <= tracking_start < _LAST:
                raise AuditDataError("audit.tracking_start",
                                     "expected a time with a UTC offset, in 1970-2199")
        store = AuditStore.from_data(data, ids.request_id_at if ids is not None else None)
        return cls(ids, clock, store=store, tracking_start=tracking_start)

    # ------------------------------------------------------------ recording
    def _op_info(self, op) -> _OpInfo:
        """What the trail needs to know of an operation: its OperationSpec's audit facts."""
        name = op.name
        facts = op.audit
        shape, out_shape = op.input_shape, op.output_shape
        members = logged_members(name)
        event = self._store.events.code((name, "AwsApiCall"),
                                        lambda: EventKind(name, "AwsApiCall", facts.read_only))
        info = _OpInfo(
            name=name, event=event, logged=frozenset(members),
            alike=_alike_function(name),
            shape=shape, additional=facts.additional_data,
            defaults=dict(facts.defaults_logged), key_id_as_arn=facts.key_id_as_arn,
            response_members=facts.response_logged, output_shape=out_shape,
            key_arn_response=facts.key_arn_response, alias_member=op.alias_member,
            request_logged=facts.request_logged, resources_logged=facts.resources_logged)
        self._ops[name] = info
        return info

    def _new_origin(self, caller, service, request) -> Origin:
        via = _service_principal(request.via_service)
        identity = dict(caller.user_identity())
        if via:
            identity["invokedBy"] = via
        tls = None if via else FrozenDict(
            tlsVersion=_TLS_VERSION, cipherSuite=_CIPHER_SUITE,
            clientProvidedHostHeader=f"kms.{service.region}.amazonaws.com")
        return Origin(_read_only(identity), caller.arn, caller.type, _principal_name(caller),
                      service.account, service.region, via or request.source_ip,
                      via or request.user_agent, via, tls)

    def _new_params(self, info: _OpInfo, params: dict, key) -> FrozenDict:
        logged = {n: v for n, v in params.items() if n in info.logged}
        for name, default in info.defaults.items():
            if logged.get(name) is None:
                logged[name] = default
        if info.key_id_as_arn and key is not None:
            logged["KeyId"] = key.arn
        if info.shape is None:
            return _read_only({_camel(k): v for k, v in logged.items()})
        return _read_only(_render(info.shape, logged))

    def _response_elements(self, info: _OpInfo, response: dict) -> FrozenDict | None:
        if info.output_shape is None:
            return None
        picked = {m: response[m] for m in info.response_members if m in response}
        return _read_only(_render(info.output_shape, picked)) if picked else None

    def record(self, call, response: dict | None, error) -> None:
        """Record one API call, success or failure (the pipeline's step 6).

        Called under the lab's lock, like everything that changes the lab.
        Calls alike in all but time and request id (operation, caller and
        origin, keys, logged parameters, key material or error) share a
        :class:`Shape`: found with one lookup (none when the call is like the
        one before), encoded once.
        """
        info = self._ops.get(call.op.name) or self._op_info(call.op)
        request = call.request
        # the key material a cryptographic operation used (or what else additionalEventData
        # holds: RetireGrant's grantId), or the code of the error
        if error is not None:
            outcome = self._error_code(error)
        elif call.logged:
            outcome = ("logged", tuple(call.logged.items()))
        else:
            outcome = call.material_id
        try:
            alike = info.alike(call, request, outcome)
            if alike == self._last_alike:  # a call like the one before: no lookup
                shape = self._last_shape
            else:
                shape = self._call_shapes.get(alike)
        except (TypeError, AttributeError):  # a malformed request (wrong types): not shared
            alike = shape = None
        if shape is None:
            values = alike[_PARAMS_AT:] if alike is not None else None
            shape = self._store.shape_code(self._encode(call, info, outcome, error, values))
            if alike is not None:
                if len(self._call_shapes) >= _ALIKE_CACHE_SIZE:  # a cache: starting over is safe
                    self._call_shapes.clear()
                self._call_shapes[alike] = shape
        self._last_alike, self._last_shape = alike, shape

        store = self._store
        rid = request.request_id
        ids = self._ids
        seq = ids.request_seq if rid is ids.last_request_id and rid is not None else None
        key = call.key
        owners = None
        if key is not None and (key.account != call.service.account or call.extra_keys) and \
                (error is None or error.code != "AccessDeniedException"):
            owners = _other_owners(call)
        if call.now is self._last_now and seq is not None and info.response_members is None \
                and not info.key_arn_response and seq - len(store.shape) == store.seq_offset \
                and not owners:
            store.shape.append(shape)  # the common row: same tick, next request id, no response
            return
        us = None
        if call.now is not self._last_now:  # many calls share one tick of the virtual clock
            self._last_now = call.now
            us = round(call.now.timestamp() * 1_000_000)
        elements = None
        if error is None:
            if info.response_members is not None:
                elements = self._response_elements(info, response)
            if info.key_arn_response and key is not None:
                elements = FrozenDict({**(elements or {}), "keyId": key.arn})
        store.append(shape, us, rid, seq, elements)
        if owners:
            self._copy_to_owners(shape, owners, rid, elements)
        for other in call.logged_in:
            self._copy_to_region(shape, other, rid, elements, info.key_arn_response)

    def _copy_to_region(self, shape: int, key, request_id: str | None, elements,
                        key_arn_response: bool) -> None:
        """The call's record in the trail of another Region, naming that Region's key
        (ct-update-primary-region: "writes two CloudTrail log entries", one per Region)."""
        store = self._store
        original: Shape = store.shapes.values[shape]
        origin = store.origins.code(("region", original.origin, key.region), lambda: (
            store.origins.values[original.origin]._replace(region=key.region)))
        res = store.resource_pool.code(key.arn, lambda: _resources((key.arn,)))
        code = store.shape_code(original._replace(origin=origin, resources=res))
        if key_arn_response and elements is not None:
            elements = FrozenDict({**elements, "keyId": key.arn})
        store.append(code, None, request_id, None, elements)

    def _copy_to_owners(self, shape: int, owners: list[str], request_id: str | None,
                        elements) -> None:
        """A cross-account call in the key owners' trails too (Developer Guide,
        logging-using-cloudtrail: "Cross-account operations on KMS keys are logged in both the
        caller account and the KMS key owner account"; a call denied access only in the
        caller's). Each copy is its own event (eventID, recipientAccountId); all share the
        caller's record's sharedEventID (CloudTrail User Guide, record contents)."""
        store = self._store
        row = len(store.shape) - 1
        shared = store.shared_event_ids[row] = str(uuid.uuid5(_SHARED_EVENTS, store.event_id(row)))
        for owner in owners:
            code = self._copies.get((shape, owner))
            if code is None:
                original: Shape = store.shapes.values[shape]
                okey = ("recipient", original.origin, owner)
                origin = store.origins.index.get(okey)
                if origin is None:
                    origin = store.origins.add(okey, store.origins.values[original.origin]
                                               ._replace(account=owner))
                code = self._copies[(shape, owner)] = store.shape_code(
                    original._replace(origin=origin))
            store.append(code, None, request_id, None, elements)
            store.shared_event_ids[row + 1] = shared
            row += 1

    def _append(self, us: int, shape: Shape, request_id: str | None, response) -> None:
        """Append one row (service events and imported records)."""
        self._last_now = None  # the next call looks at the time again
        store = self._store
        store.append(store.shape_code(shape), us, request_id, None, response)

    def _error_code(self, error) -> int:
        pool = self._store.error_pool
        ekey = (error.code, error.message)
        ec = pool.index.get(ekey)
        if ec is None:
            ec = pool.add(ekey, (TRAIL_ERROR_CODES.get(error.code, error.code), error.message))
        return ec

    def _encode(self, call, info: _OpInfo, outcome, error, values) -> Shape:
        """The shape of a call: its event, origin, resources, requestParameters,
        additionalEventData and error, each found in (or added to) its pool.

        ``outcome`` is what :meth:`record` found: the key material used, or
        the error's code when ``error`` is set.
        """
        store = self._store
        request = call.request
        service = call.service
        caller = call.caller
        key = call.key
        extra = call.extra_keys

        okey = (id(caller), service.region, service.account, request.source_ip,
                request.user_agent, request.via_service)
        origin = store.origins.index.get(okey)
        if origin is None:
            origin = store.origins.add(okey, self._new_origin(caller, service, request))
        self._callers[id(caller)] = caller  # keeps its id() from being reused by another object

        if not info.resources_logged:  # ct-generaterandom, ct-listaliases: "resources": []
            res = store.resource_pool.code((), lambda: _resources(()))
        elif key is None:
            res = _NONE
        else:
            rkey = (*(k.arn for k in extra), key.arn) if extra else key.arn
            alias = request.params.get(info.alias_member) if info.alias_member else None
            if type(alias) is str and alias.startswith("alias/"):  # ct-createalias: key, alias
                rkey = (key.arn, f"arn:aws:kms:{service.region}:{service.account}:{alias}")
            res = store.resource_pool.index.get(rkey)
            if res is None:
                arns = rkey if type(rkey) is tuple else (rkey,)
                res = store.resource_pool.add(rkey, _resources(tuple(dict.fromkeys(arns))))

        if not info.request_logged:  # ct-retire-grant, ct-generaterandom: null
            pc = _NONE
        elif values is None:
            pc = store.param_pool.add(object(), self._new_params(info, request.params, key))
        else:
            pkey = (info.name, key.arn if info.key_id_as_arn and key is not None else None, values)
            pc = store.param_pool.index.get(pkey)
            if pc is None:
                pc = store.param_pool.add(pkey, self._new_params(info, request.params, key))

        if error is not None:
            return Shape(info.event, origin, res, pc, _NONE, outcome)
        adc = self._additional_code(outcome, key) if info.additional else _NONE
        return Shape(info.event, origin, res, pc, adc, _NONE)

    def _additional_code(self, outcome: str | tuple | None, key) -> int:
        """additionalEventData of cryptographic operations and CreateKey: the key material
        used (ReEncrypt: destination and source), and the custom key store of a key in one."""
        store = key.custom_key_store_id if key is not None else None
        if outcome is None and store is None:
            return _NONE
        pool = self._store.additional_pool
        akey = outcome if store is None else (outcome, store)
        code = pool.index.get(akey)
        if code is None:
            data: dict = {}
            if store is not None:
                data["customKeyStoreId"] = store
            if isinstance(outcome, tuple) and outcome[0] == "logged":
                data.update(outcome[1])
            elif isinstance(outcome, tuple):
                destination, source = outcome
                data["destinationKeyMaterialId"] = destination
                if source:
                    data["sourceKeyMaterialId"] = source
            elif outcome is not None:
                data["keyMaterialId"] = outcome
            code = pool.add(akey, FrozenDict(data))
        return code

    def _kms_itself(self, account: str, region: str) -> int:
        """The origin of what KMS does by itself in an account and Region ("AWS Internal")."""
        return self._store.origins.code(("AwsServiceEvent", account, region), lambda: Origin(
            FrozenDict(accountId=account, invokedBy=AWS_INTERNAL), None, None, AWS_INTERNAL,
            account, region, AWS_INTERNAL, AWS_INTERNAL, AWS_INTERNAL, None))

    def record_service_event(self, event_name: str, *, account: str, region: str,
                             key_arn: str | None, details: dict | None = None) -> None:
        """Record an action KMS takes by itself (RotateKey, DeleteKey, DeleteExpiredKeyMaterial)."""
        store = self._store
        event = store.events.code((event_name, "AwsServiceEvent"),
                                  lambda: EventKind(event_name, "AwsServiceEvent", False))
        origin = self._kms_itself(account, region)
        res = _NONE if key_arn is None else store.resource_pool.code(
            key_arn, lambda: _resources((key_arn,)))
        adc = _NONE if not details else store.additional_pool.code(
            ("details", _freeze(details)), lambda: _read_only(details))
        us = (self._clock.now() - _EPOCH) // _MICROSECOND
        self._append(us, Shape(event, origin, res, _NONE, adc, _NONE), None, None)

    def record_internal_call(self, event_name: str, *, account: str, region: str,
                             key_arn: str) -> None:
        """Record an API call KMS makes itself (SynchronizeMultiRegionKey): an AwsApiCall by
        "AWS Internal" with a request id, no requestParameters and the key ARN as
        ``responseElements.keyId`` (ct-synchronize-multi-region-key)."""
        store = self._store
        event = store.events.code((event_name, "AwsApiCall"),
                                  lambda: EventKind(event_name, "AwsApiCall", False))
        origin = self._kms_itself(account, region)
        res = store.resource_pool.code(key_arn, lambda: _resources((key_arn,)))
        us = (self._clock.now() - _EPOCH) // _MICROSECOND
        request_id = self._ids.request_id() if self._ids is not None else None
        self._append(us, Shape(event, origin, res, _NONE, _NONE, _NONE), request_id,
                     FrozenDict(keyId=key_arn))

    # ------------------------------------------------------------ reading
    def event_id(self, row: int) -> str:
        """The eventID of a row (unique in the trail; a UUID)."""
        return self._store.event_id(row)

    def request_id(self, row: int) -> str | None:
        """The requestID of a row (see :meth:`AuditStore.request_id`)."""
        return self._store.request_id(row)

    def time_us(self, row: int) -> int:
        """A row's eventTime, in microseconds since 1970-01-01 UTC."""
        return self._store.time_us(row)

    def last_use(self, key_arn: str) -> LastUse | None:
        """The last successful tracked cryptographic operation on a key (GetKeyLastUsage)."""
        held = self._store.last_use(key_arn)
        delivered = self._delivered_uses.get(key_arn)
        if delivered is None or held is not None and held.time >= delivered.time:
            return held
        return delivered

    def _swap_store(self, store: AuditStore) -> AuditStore:
        """Record on into ``store``; returns the store replaced (streaming delivery)."""
        old, self._store = self._store, store
        self._ops.clear()  # their codes index the old store's pools
        self._call_shapes.clear()
        self._last_alike, self._last_shape, self._last_now = None, _NONE, None
        return old

    def _keep_last_uses(self, store: AuditStore) -> None:
        """Remember the key uses in ``store`` before its records leave memory."""
        uses = self._delivered_uses = dict(self._delivered_uses)
        for arn in store.tracked:
            last = store.last_use(arn)
            if last is not None:
                uses[arn] = last

    def record_at(self, row: int) -> dict:
        """One record in CloudTrail's JSON shape (a fresh dict)."""
        return self._store.record(row)

    def _table(self, rows) -> AuditTable:
        return self._store.table(rows)

    # ------------------------------------------------------------ filtering
    def _key_arns(self, key: str) -> set[str]:
        if self.key_resolver is not None:
            try:
                return {self.key_resolver(key)}
            except Exception:
                pass
        if key.startswith("arn:") and ":key/" in key:
            return {key}
        if key.startswith("alias/") or ":alias/" in key:
            raise ValueError(f"cannot resolve {key!r}: this trail has no lab to look aliases up")
        suffix = "/" + key
        return {a for r in self._store.resource_pool.values for a in r.arns if a.endswith(suffix)}

    def _principal_origins(self, who) -> set[int]:
        text = getattr(who, "arn", who)
        found = set()
        for code, o in enumerate(self._store.origins.values):
            issuer = (o.identity.get("sessionContext") or {}).get("sessionIssuer") or {}
            if text in (o.arn, o.name, o.identity.get("userName"), issuer.get("arn")) \
                    or (o.type == "Root" and text == "root"):
                found.add(code)
        return found

    def _select(self, rows, start, end, event_name, key, principal, success, event_type,
                error_code, account=None) -> list[int]:
        store = self._store
        if start is not None or end is not None:
            rows = self._rows_between(rows, _as_us(start) if start is not None else None,
                                      _as_us(end) if end is not None else None)
        tests: list[tuple[int, set]] = []  # (a field of Shape, the codes it may hold)
        if event_name is not None or event_type is not None:
            names = {event_name} if isinstance(event_name, str) else \
                set(event_name) if event_name is not None else None
            codes = {c for c, e in enumerate(store.events.values)
                     if (names is None or e.name in names) and (event_type is None or e.type == event_type)}
            tests.append((Shape._fields.index("event"), codes))
        if key is not None:
            arns = self._key_arns(key)
            tests.append((Shape._fields.index("resources"),
                          {c for c, r in enumerate(store.resource_pool.values)
                           if arns.intersection(r.arns)}))
        if principal is not None:
            tests.append((Shape._fields.index("origin"), self._principal_origins(principal)))
        if account is not None:
            tests.append((Shape._fields.index("origin"), {
                c for c, o in enumerate(store.origins.values) if o.account == account}))
        if error_code is not None:
            wanted = {error_code} if isinstance(error_code, str) else set(error_code)
            tests.append((Shape._fields.index("error"),
                          {c for c, (code, _) in enumerate(store.error_pool.values)
                           if code in wanted or _api_code(code) in wanted}))
        if not tests and success is None:
            return list(rows)
        shapes = {c for c, shape in enumerate(store.shapes.values)
                  if (success is None or (shape.error == _NONE) == success)
                  and all(shape[field] in codes for field, codes in tests)}
        column = store.shape
        return [i for i in rows if column[i] in shapes]

    def _rows_between(self, rows, lo: int | None, hi: int | None):
        """The rows of ``rows`` (ascending) with lo <= eventTime < hi (None: unbounded)."""
        store = self._store
        starts, values = store.time_starts, store.time_values
        if store.sorted and isinstance(rows, range):  # the runs' times ascend: bisect them
            n = len(store.shape)
            first = bisect_left(values, lo) if lo is not None else 0
            stop = bisect_left(values, hi) if hi is not None else len(values)
            lo_row = starts[first] if first < len(starts) else n
            hi_row = starts[stop] if stop < len(starts) else n
            return range(max(lo_row, rows.start), min(hi_row, rows.stop))
        out, run = [], 0
        for row in rows:
            while run + 1 < len(starts) and starts[run + 1] <= row:
                run += 1
            us = values[run]
            if (lo is None or us >= lo) and (hi is None or us < hi):
                out.append(row)
        return out

    # ------------------------------------------------------------ import
    @classmethod
    def from_cloudtrail(cls, source) -> AuditLog:
        """A read-only trail from CloudTrail JSON: a ``{"Records": [...]}`` dict, a list of
        records, JSON text, or a path (``.json`` or ``.json.gz``)."""
        doc = _load(source, lines=False)
        records = doc["Records"] if isinstance(doc, dict) else doc
        return cls._from_records(records)

    @classmethod
    def from_cloudtrail_logs(cls, directory: str | os.PathLike) -> AuditLog:
        """A read-only trail from a CloudTrail log tree (``AWSLogs/...``), as written by
        :meth:`export_cloudtrail_logs` or delivered by CloudTrail to S3."""
        from .audit_files import from_cloudtrail_logs
        return from_cloudtrail_logs(directory)

    @classmethod
    def from_jsonl(cls, source) -> AuditLog:
        """A read-only trail from JSON Lines (text or a path), as written by :meth:`to_jsonl`."""
        return cls._from_records(_load(source, lines=True))

    @classmethod
    def _from_records(cls, records: Iterable[dict]) -> AuditLog:
        log = _ImportedTrail()
        log._store.event_ids = []
        for rec in records:
            log._ingest(rec)
        if log._store.time_values:
            log.tracking_start = _EPOCH + timedelta(microseconds=min(log._store.time_values))
        return log

    def _ingest(self, rec: dict) -> None:
        store = self._store
        row = len(store.shape)
        kind_key = (rec.get("eventName"), rec.get("eventType", "AwsApiCall"), bool(rec.get("readOnly")))
        event = store.events.code(kind_key, lambda: EventKind(*kind_key))
        api_call = kind_key[1] == "AwsApiCall"
        ident = rec.get("userIdentity") or {}
        okey = _freeze((ident, rec.get("awsRegion"), rec.get("recipientAccountId"),
                        rec.get("sourceIPAddress"), rec.get("userAgent"), rec.get("tlsDetails")))

        def origin():
            issuer = (ident.get("sessionContext") or {}).get("sessionIssuer") or {}
            arn = ident.get("arn")
            name = ident.get("userName") or (arn.split(":assumed-role/", 1)[-1] if arn and
                                             ":assumed-role/" in arn else None)
            if name is None:
                name = "root" if ident.get("type") == "Root" else \
                    ident.get("invokedBy") or issuer.get("userName") or (arn or AWS_INTERNAL)
            tls = rec.get("tlsDetails")
            return Origin(_read_only(ident), arn, ident.get("type"), name,
                          rec.get("recipientAccountId"), rec.get("awsRegion"),
                          rec.get("sourceIPAddress"), rec.get("userAgent"), ident.get("invokedBy"),
                          _read_only(tls) if tls is not None else None)
        org = store.origins.code(okey, origin)
        resources = rec.get("resources")
        if resources:
            res = store.resource_pool.code(("imported", _freeze(resources)), lambda: Resources(
                tuple(r.get("ARN") for r in resources), _read_only(resources)))
        else:
            res = _NONE
        params = rec.get("requestParameters")
        pc = _NONE if params is None else store.param_pool.code(
            _freeze(params), lambda: _read_only(params))
        extra = rec.get("additionalEventData") if api_call else rec.get("serviceEventDetails")
        adc = _NONE if extra is None else store.additional_pool.code(
            _freeze(extra), lambda: _read_only(extra))
        if "errorCode" in rec:
            ekey = (rec["errorCode"], rec.get("errorMessage"))
            ec = store.error_pool.code(ekey, lambda: ekey)
        else:
            ec = _NONE
        resp = rec.get("responseElements")
        self._append(_parse_time(rec["eventTime"]), Shape(event, org, res, pc, adc, ec),
                     rec.get("requestID"), _read_only(resp) if resp is not None else None)
        store.event_ids.append(rec.get("eventID"))
        if rec.get("sharedEventID") is not None:
            store.shared_event_ids[row] = rec["sharedEventID"]
        if self.record_at(row) != rec:  # a field kmslab does not model: keep the record as given
            store.overrides[row] = _read_only(rec)


class _ImportedTrail(AuditLog):
    """A trail read from CloudTrail JSON or JSON Lines: for reading only."""

    _read_only = True

    def record(self, *args, **kwargs) -> None:
        raise TypeError("an imported audit trail is read-only")

    record_service_event = record_internal_call = record


def _other_owners(call) -> list[str]:
    """The accounts, other than the caller's, that own a key the call used (in order)."""
    here = call.service.account
    owners = [k.account for k in (*call.extra_keys, call.key) if k.account != here]
    return list(dict.fromkeys(owners))


def _api_code(trail_code: str) -> str:
    for api, trail in TRAIL_ERROR_CODES.items():
        if trail == trail_code:
            return api
    return trail_code


def _as_us(when: datetime | str) -> int:
    if isinstance(when, str):
        return _parse_time(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MICROSECOND


def _load(source, *, lines: bool):
    if isinstance(source, (dict, list)):
        return source
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        text = source
    elif isinstance(source, str) and lines and "\n" in source.strip():
        text = source
    else:
        with _open(source, "rt") as f:
            text = f.read()
    if lines:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)
