"""Query the audit trail with SQL: DuckDB over CloudTrail's log files, as Athena reads them.

:func:`connect` opens an embedded DuckDB database with one view,
``cloudtrail_logs``, over a log tree written by
``lab.audit.export_cloudtrail_logs(directory)`` (or delivered by CloudTrail to
S3 and copied down), or over a Parquet file from ``lab.audit.to_parquet``.
The view has the columns and types of the table AWS's Athena documentation
creates for CloudTrail (:data:`ATHENA_DDL`: lower-case names, the nested
request and response elements as JSON text, ``eventtime`` as ISO 8601 text),
and the database knows the Athena (Trino) functions the queries use that
DuckDB names otherwise (``from_iso8601_timestamp``, ``json_extract_scalar``,
``transform``). So the SQL in
:data:`QUERIES` runs unchanged in Athena against a real trail.

Needs DuckDB: ``pip install "kmslab[sql]"``.

    >>> db = audit_sql.connect("logs")
    >>> db.sql(audit_sql.query("access_denied_by_principal")).df()
"""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from .audit import tracked_operations

__all__ = ["connect", "query", "QUERIES", "ATHENA_DDL", "CRYPTOGRAPHIC_OPERATIONS"]

#: The Athena table for a CloudTrail trail, as AWS's Athena User Guide gives it
#: ("Create a table for CloudTrail logs in Athena using manual partitioning").
ATHENA_DDL = """\
CREATE EXTERNAL TABLE cloudtrail_logs (
    eventversion STRING,
    useridentity STRUCT<
        type:STRING,
        principalid:STRING,
        arn:STRING,
        accountid:STRING,
        invokedby:STRING,
        accesskeyid:STRING,
        username:STRING,
        onbehalfof: STRUCT<
            userid: STRING,
            identitystorearn: STRING>,
        sessioncontext:STRUCT<
            attributes:STRUCT<
                mfaauthenticated:STRING,
                creationdate:STRING>,
            sessionissuer:STRUCT<
                type:STRING,
                principalid:STRING,
                arn:STRING,
                accountid:STRING,
                username:STRING>,
            ec2roledelivery:string,
            webidfederationdata: STRUCT<
                federatedprovider: STRING,
                attributes: map<string,string>>
        >
    >,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    resources ARRAY<STRUCT<
        arn:STRING,
        accountid:STRING,
        type:STRING>>,
    eventtype STRING,
    apiversion STRING,
    readonly STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    vpcendpointaccountid STRING,
    eventcategory STRING,
    addendum STRUCT<
        reason:STRING,
        updatedfields:STRING,
        originalrequestid:STRING,
        originaleventid:STRING>,
    sessioncredentialfromconsole STRING,
    edgedevicedetails STRING,
    tlsdetails STRUCT<
        tlsversion:STRING,
        ciphersuite:STRING,
        clientprovidedhostheader:STRING>
)
COMMENT 'CloudTrail table for amzn-s3-demo-bucket'
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://amzn-s3-demo-bucket/AWSLogs/111122223333/CloudTrail/'
TBLPROPERTIES ('classification'='cloudtrail');
"""

# The view's columns: the fields of ATHENA_DDL a KMS trail uses, as DuckDB types named as
# CloudTrail's JSON names them (JSON keys match by case; the view's names are lower-case, as
# Athena's, and SQL reads structure fields in any case).
_IDENTITY = ("STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, "
             "invokedBy VARCHAR, accessKeyId VARCHAR, userName VARCHAR, "
             "sessionContext STRUCT(attributes STRUCT(mfaAuthenticated VARCHAR, "
             "creationDate VARCHAR), sessionIssuer STRUCT(type VARCHAR, principalId VARCHAR, "
             "arn VARCHAR, accountId VARCHAR, userName VARCHAR)))")
_RESOURCES = "STRUCT(ARN VARCHAR, accountId VARCHAR, type VARCHAR)[]"
_TLS = "STRUCT(tlsVersion VARCHAR, cipherSuite VARCHAR, clientProvidedHostHeader VARCHAR)"
_COLUMNS = (  # (CloudTrail's field name, DuckDB type; JSON: kept as JSON text)
    ("eventVersion", "VARCHAR"), ("userIdentity", _IDENTITY), ("eventTime", "VARCHAR"),
    ("eventSource", "VARCHAR"), ("eventName", "VARCHAR"), ("awsRegion", "VARCHAR"),
    ("sourceIPAddress", "VARCHAR"), ("userAgent", "VARCHAR"), ("errorCode", "VARCHAR"),
    ("errorMessage", "VARCHAR"), ("requestParameters", "JSON"), ("responseElements", "JSON"),
    ("additionalEventData", "JSON"), ("requestID", "VARCHAR"), ("eventID", "VARCHAR"),
    ("resources", _RESOURCES), ("eventType", "VARCHAR"), ("readOnly", "VARCHAR"),
    ("recipientAccountId", "VARCHAR"), ("serviceEventDetails", "JSON"),
    ("sharedEventID", "VARCHAR"), ("vpcEndpointId", "VARCHAR"), ("eventCategory", "VARCHAR"),
    ("tlsDetails", _TLS))

#: Athena (Trino) functions the queries use, defined in DuckDB with the same meaning
_ATHENA_FUNCTIONS = {
    "from_iso8601_timestamp": "(text) AS CAST(text AS TIMESTAMPTZ)",
    "json_extract_scalar": "(json_text, path) AS json_extract_string(json_text, path)",
    "transform": "(items, fn) AS list_transform(items, fn)",
}

#: the operations GetKeyLastUsage tracks: a key's cryptographic use (the operation table's)
CRYPTOGRAPHIC_OPERATIONS = tuple(sorted(tracked_operations()))

_IN_CRYPTO = textwrap.fill(", ".join(f"'{name}'" for name in CRYPTOGRAPHIC_OPERATIONS),
                           width=92, initial_indent=" " * 34, subsequent_indent=" " * 34,
                           break_on_hyphens=False, break_long_words=False).lstrip()

#: The questions security teams ask of KMS's trail, in SQL that Athena runs on the table
#: of :data:`ATHENA_DDL` and DuckDB on :func:`connect`'s view. ``{as_of}`` and
#: ``{days}`` are filled in by :func:`query`.
QUERIES = {
    # who decrypts with each key, most first
    "top_decrypters": """\
SELECT key_arn,
       useridentity.arn AS principal,
       count(*) AS decrypts
FROM cloudtrail_logs
CROSS JOIN UNNEST(transform(resources, r -> r.arn)) AS t(key_arn)
WHERE eventsource = 'kms.amazonaws.com'
  AND eventname = 'Decrypt'
  AND errorcode IS NULL
GROUP BY key_arn, useridentity.arn
ORDER BY key_arn, decrypts DESC, principal""",
    # which principals KMS refused, and for what
    "access_denied_by_principal": """\
SELECT useridentity.arn AS principal,
       eventname,
       count(*) AS denied
FROM cloudtrail_logs
WHERE eventsource = 'kms.amazonaws.com'
  AND errorcode = 'AccessDenied'
GROUP BY useridentity.arn, eventname
ORDER BY denied DESC, principal, eventname""",
    # keys in the trail with no successful cryptographic use in the last {days} days (an alias
    # operation lists the alias ARN too, with the type AWS::KMS::Key: only key ARNs count)
    "keys_unused": f"""\
WITH uses AS (
    SELECT key_arn,
           CASE WHEN eventname IN ({_IN_CRYPTO})
                 AND errorcode IS NULL
                THEN from_iso8601_timestamp(eventtime) END AS used
    FROM cloudtrail_logs
    CROSS JOIN UNNEST(transform(filter(resources, r -> r.type = 'AWS::KMS::Key'
                                                   AND r.arn LIKE '%:key/%'),
                                r -> r.arn)) AS t(key_arn)
    WHERE eventsource = 'kms.amazonaws.com')
SELECT key_arn, max(used) AS last_used
FROM uses
GROUP BY key_arn
HAVING max(used) IS NULL
    OR max(used) < from_iso8601_timestamp('{{as_of}}') - INTERVAL '{{days}}' DAY
ORDER BY last_used NULLS FIRST, key_arn""",
    # calls an AWS service made on a principal's behalf (kms:ViaService)
    "calls_via_service": """\
SELECT useridentity.invokedby AS service,
       eventname,
       count(*) AS calls
FROM cloudtrail_logs
WHERE eventsource = 'kms.amazonaws.com'
  AND eventtype = 'AwsApiCall'
  AND useridentity.invokedby IS NOT NULL
GROUP BY useridentity.invokedby, eventname
ORDER BY calls DESC, service, eventname""",
}


def query(name: str, *, as_of: datetime | str | None = None, days: int = 90) -> str:
    """The SQL of one of :data:`QUERIES`, with ``as_of`` (the time "now" is, e.g. the lab
    clock's) and ``days`` filled in where the query has them."""
    if name not in QUERIES:
        raise KeyError(f"no query {name!r}; choose from {sorted(QUERIES)}")
    if isinstance(as_of, datetime):
        as_of = as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ValueError("days must be a whole number of days, 0 or more")
    if as_of is not None:
        datetime.fromisoformat(as_of.replace("Z", "+00:00"))  # ValueError unless ISO 8601
    text = QUERIES[name]
    if "{as_of}" in text and as_of is None:
        raise ValueError(f"the query {name!r} needs as_of (the time to count the days back from)")
    return text.replace("{as_of}", as_of or "").replace("{days}", str(days))


def _duckdb():
    try:
        import duckdb
    except ImportError:  # pragma: no cover - the extra not installed
        raise ImportError('SQL over the trail needs DuckDB: pip install "kmslab[sql]"') from None
    return duckdb


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(source: str | os.PathLike, *, connection=None):
    """A DuckDB connection with the view ``cloudtrail_logs`` over ``source``: a CloudTrail log
    tree (the folder holding ``AWSLogs``, or one inside it) or a Parquet file written by
    ``to_parquet``. ``connection``: add the view to this DuckDB connection instead."""
    duckdb = _duckdb()
    path = Path(source)
    db = connection if connection is not None else duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute("SET enable_progress_bar = false")
    try:  # Trino's lambdas (r -> r.arn), which DuckDB is moving away from
        db.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    except duckdb.Error:  # a DuckDB from before the change: the arrow is its syntax
        pass
    builtin = {row[0] for row in db.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_type <> 'macro'").fetchall()}
    for name, definition in _ATHENA_FUNCTIONS.items():
        if name not in builtin:
            db.execute(f"CREATE OR REPLACE MACRO {name}{definition}")
    if path.is_dir():
        if not any(path.rglob("*_CloudTrail_*.json.gz")):
            raise FileNotFoundError(f"no CloudTrail log files under {os.fspath(source)}")
        record = "STRUCT(" + ", ".join(f'"{name}" {kind}' for name, kind in _COLUMNS) + ")[]"
        files = _quoted((path / "**" / "*_CloudTrail_*.json.gz").as_posix())
        columns = ", ".join(f'CAST(r."{name}" AS VARCHAR) AS {name.lower()}' if kind == "JSON"
                            else f'r."{name}" AS {name.lower()}' for name, kind in _COLUMNS)
        db.execute(f"""CREATE OR REPLACE VIEW cloudtrail_logs AS
            SELECT {columns} FROM (
                SELECT unnest(Records) AS r
                FROM read_json({files}, columns = {{'Records': {_quoted(record)}}},
                               format = 'auto', compression = 'gzip'))""")
    elif path.is_file():
        present = {row[0].lower() for row in db.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_quoted(path.as_posix())})").fetchall()}
        columns = ", ".join(
            f'CAST({name if name.lower() in present else "NULL"} AS '
            f'{"VARCHAR" if kind == "JSON" else kind}) AS {name.lower()}'
            for name, kind in _COLUMNS)
        db.execute(f"""CREATE OR REPLACE VIEW cloudtrail_logs AS
            SELECT {columns} FROM read_parquet({_quoted(path.as_posix())})""")
    else:
        raise FileNotFoundError(f"no log tree or Parquet file at {os.fspath(source)}")
    return db
