"""The audit trail as one Parquet table, for columnar engines (DuckDB, Spark, Athena, pandas).

One row per CloudTrail record, one column per CloudTrail field, named as
CloudTrail names it. The nested fields Athena's CloudTrail table declares as
structures are structures here too (``userIdentity``, ``resources``,
``tlsDetails``: query ``userIdentity.arn``); those it declares as strings
are JSON text (``requestParameters``, ``responseElements``,
``additionalEventData``, ``serviceEventDetails``: query them with
``json_extract_scalar``). ``eventTime`` is CloudTrail's ISO 8601 text, as in
the log files, so the same SQL reads both.

Needs pyarrow: ``pip install "kmslab[parquet]"``.

    >>> lab.audit.to_parquet("trail.parquet")
    >>> pyarrow.parquet.read_table("trail.parquet").num_rows == len(lab.audit)
    True
"""

from __future__ import annotations

import json
import os

__all__ = ["schema", "table", "write_parquet", "COLUMNS", "STRUCT_FIELDS", "JSON_FIELDS"]

#: fields kept as structures (Athena's CloudTrail table declares them so)
STRUCT_FIELDS = ("userIdentity", "resources", "tlsDetails")
#: fields kept as JSON text (Athena's CloudTrail table declares them as strings)
JSON_FIELDS = ("requestParameters", "responseElements", "additionalEventData",
               "serviceEventDetails")

_BOOL_FIELDS = ("readOnly", "managementEvent")
#: the columns, in CloudTrail's record order
COLUMNS = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
           "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
           "responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
           "resources", "eventType", "managementEvent", "recipientAccountId",
           "serviceEventDetails", "sharedEventID", "vpcEndpointId", "eventCategory",
           "tlsDetails")


def _pyarrow():
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - the extra not installed
        raise ImportError('Parquet export needs pyarrow: pip install "kmslab[parquet]"') from None
    return pyarrow


def schema():
    """The table's pyarrow schema (the structures as Athena's CloudTrail table has them)."""
    pa = _pyarrow()
    s = pa.string()
    issuer = pa.struct([("type", s), ("principalId", s), ("arn", s), ("accountId", s),
                        ("userName", s)])
    session = pa.struct([("attributes", pa.struct([("mfaAuthenticated", s),
                                                   ("creationDate", s)])),
                         ("sessionIssuer", issuer)])
    identity = pa.struct([("type", s), ("principalId", s), ("arn", s), ("accountId", s),
                          ("invokedBy", s), ("accessKeyId", s), ("userName", s),
                          ("sessionContext", session)])
    resource = pa.struct([("ARN", s), ("accountId", s), ("type", s)])
    tls = pa.struct([("tlsVersion", s), ("cipherSuite", s), ("clientProvidedHostHeader", s)])
    types = {"userIdentity": identity, "resources": pa.list_(resource), "tlsDetails": tls,
             **{name: pa.bool_() for name in _BOOL_FIELDS}}
    return pa.schema([(name, types.get(name, s)) for name in COLUMNS])


def _json(value):
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _value(record: dict, name: str):
    """A record's value for the column ``name`` (JSON text, a boolean, a structure...)."""
    value = record.get(name)
    if name in JSON_FIELDS:
        return _json(value)
    if name in _BOOL_FIELDS:  # CloudTrail writes them as JSON booleans (some as text)
        return None if value is None else value is True or value == "true"
    return value


def table(records):
    """A pyarrow Table of CloudTrail records: a trail, a view, or any iterable of records.

    A trail's columns are built from its shapes (one value per shape, taken
    for each row: see :mod:`kmslab.audit_render`); other records one by one.
    """
    pa = _pyarrow()
    types = schema()
    from .audit import _Trail
    if isinstance(records, _Trail):
        from .audit_render import PER_ROW, Rows
        rows = Rows(records)
        entries = pa.array(rows.entries, type=pa.int64())
        columns = {}
        for name in COLUMNS:
            kind = types.field(name).type
            if name in PER_ROW:
                columns[name] = pa.array(rows.field(name), type=kind)
            else:
                values = pa.array([_value(t, name) for t in rows.templates], type=kind)
                columns[name] = values.take(entries)
        return pa.Table.from_pydict(columns, schema=types)
    records = records if isinstance(records, list) else list(records)
    return pa.Table.from_pydict({name: [_value(r, name) for r in records] for name in COLUMNS},
                                schema=types)


def write_parquet(trail, path: str | os.PathLike, *, compression: str = "zstd") -> str:
    """Write ``trail`` (a trail, a view, or records) to ``path`` as one Parquet table;
    returns the path."""
    import pyarrow.parquet as pq
    pq.write_table(table(trail), os.fspath(path), compression=compression)
    return os.fspath(path)
