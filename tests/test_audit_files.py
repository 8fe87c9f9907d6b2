"""The audit trail as CloudTrail's log files, as Parquet, and under SQL: the layout a trail
delivers to S3, exact round trips, streaming delivery in constant memory, and the security
team's queries in DuckDB agreeing with pandas on lab.audit.frame()."""

from __future__ import annotations

import gc
import gzip
import json
import re
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import kmslab
from kmslab import audit_sql
from kmslab.audit import AuditLog
from kmslab.audit_files import Delivery, LogFileWriter, log_files

FILE = re.compile(r"^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]{16})\.json\.gz$")
UTC = UTC


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _world(seed: int = 5):
    """Two accounts, two Regions, allowed and denied callers, two keys, calls via a service."""
    lab = kmslab.Lab(seed=seed)
    lab.add_user("alice")
    lab.add_user("mallory")
    other = lab.add_account("444455556666")
    kms = lab.client()
    west = lab.client(region_name="eu-west-1")
    app = kms.create_key(Description="app")["KeyMetadata"]["Arn"]
    idle = kms.create_key(Description="idle")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=app)  # an alias record names two ARNs
    kms.put_key_policy(KeyId=app, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{lab.default_account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": lab.principal("alice").arn},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]}))
    west_key = west.create_key()["KeyMetadata"]["Arn"]
    lab.client(as_=lab.principal(f"arn:aws:iam::{other}:root")).create_key()
    once = kms.encrypt(KeyId=idle, Plaintext=b"once")["CiphertextBlob"]
    lab.clock.advance(days=10)
    kms.re_encrypt(CiphertextBlob=once, DestinationKeyId=idle)  # uses the key twice
    lab.clock.advance(days=30)
    lab.simulate(timedelta(hours=3), rate=300, principals=["admin", "alice", "mallory"],
                 keys=[app], mix={"Encrypt": 0.4, "Decrypt": 0.6}, progress=False)
    for _ in range(3):
        west.encrypt(KeyId=west_key, Plaintext=b"west")
        lab.handle("GenerateDataKey", {"KeyId": app, "KeySpec": "AES_256"},
                   via_service="s3.us-east-1.amazonaws.com")
    lab.handle("Decrypt", {"CiphertextBlob": kms.encrypt(KeyId=app, Plaintext=b"x")[
        "CiphertextBlob"]}, via_service="ebs.us-east-1.amazonaws.com")
    with pytest.raises(kmslab.errors.AccessDeniedException):  # refused in the other Region
        lab.client(region_name="eu-west-1", as_=lab.principal("alice")).list_keys()
    return lab, {"app": app, "idle": idle, "west": west_key, "other": other}


@pytest.fixture(scope="module")
def world():
    return _world()


@pytest.fixture(scope="module")
def exported(world, tmp_path_factory):
    lab, _ = world
    root = tmp_path_factory.mktemp("trail")
    files = lab.audit.export_cloudtrail_logs(root)
    parquet = lab.audit.to_parquet(root / "trail.parquet")
    return root, files, parquet


def _canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True)


def _contents(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    assert list(doc) == ["Records"]
    return doc["Records"]


# ----------------------------------------------------------------- the layout

def test_files_follow_cloudtrails_delivery_layout(world, exported):
    lab, _ = world
    root, files, _ = exported
    assert files and len(files) == len(set(files))
    seen = 0
    for name in files:
        path = Path(name)
        rel = path.relative_to(root).parts
        assert rel[0] == "AWSLogs" and rel[2] == "CloudTrail", rel
        account, region, yyyy, mm, dd = rel[1], rel[3], rel[4], rel[5], rel[6]
        m = FILE.match(path.name)
        assert m, path.name
        assert (m[1], m[2]) == (account, region)
        delivered = datetime.strptime(m[3], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        assert (yyyy, mm, dd) == (f"{delivered:%Y}", f"{delivered:%m}", f"{delivered:%d}")
        records = _contents(path)
        assert 1 <= len(records) <= 2000
        times = [_when(r["eventTime"]) for r in records]
        assert times == sorted(times)
        # a file holds what was written in the five minutes before its delivery
        assert all(delivered - timedelta(minutes=5) <= t < delivered for t in times)
        assert {r["recipientAccountId"] for r in records} == {account}
        assert {r["awsRegion"] for r in records} == {region}
        seen += len(records)
    assert seen == len(lab.audit)
    regions = {Path(f).relative_to(root).parts[3] for f in files}
    assert regions == {"us-east-1", "eu-west-1"}


def test_each_account_gets_its_own_tree_keyed_on_recipientAccountId(tmp_path):
    lab = kmslab.Lab(seed=3)
    other = lab.add_account("444455556666")
    lab.client().create_key()
    lab.client(as_=lab.principal(f"arn:aws:iam::{other}:root")).create_key()
    files = lab.audit.export_cloudtrail_logs(tmp_path)
    accounts = sorted(Path(f).relative_to(tmp_path).parts[1] for f in files)
    assert accounts == sorted([lab.default_account, other])
    for f in files:
        assert {r["recipientAccountId"] for r in _contents(f)} == \
            {Path(f).relative_to(tmp_path).parts[1]}


def test_round_trip_is_exact(world, exported, tmp_path):
    lab, _ = world
    root, _, _ = exported
    back = AuditLog.from_cloudtrail_logs(root)
    original = lab.audit.records()
    # a lab's eventIDs count up: records of different accounts or Regions in the same second,
    # a cross-account call's pair among them, come back in the order they were recorded
    assert back.records() == original
    assert sorted(map(_canonical, back.records())) == sorted(map(_canonical, original))
    # one account and Region: the very same sequence
    lab2 = kmslab.Lab(seed=9)
    lab2.simulate(timedelta(hours=2), rate=500, progress=False)
    lab2.audit.export_cloudtrail_logs(tmp_path / "single")
    assert AuditLog.from_cloudtrail_logs(tmp_path / "single").records() == lab2.audit.records()
    # and back out again: the same files (their UniqueString aside), the same records in each
    again = log_files(back.export_cloudtrail_logs(tmp_path / "again") and tmp_path / "again")
    first = log_files(root / "AWSLogs")

    def named(files, where):
        return [str(Path(f).relative_to(where))[:-len("_UniqueString1234.json.gz")] for f in files]
    assert named(again, tmp_path / "again") == named(first, root)
    assert [_contents(f) for f in again] == [_contents(f) for f in first]


def test_the_imported_trail_is_read_only(exported):
    back = AuditLog.from_cloudtrail_logs(exported[0])
    with pytest.raises(TypeError):
        back.record(None, None, None)
    with pytest.raises(TypeError):
        Delivery(back, exported[0] / "nowhere")


def test_a_seeded_lab_writes_the_same_files_byte_for_byte(tmp_path):
    def run(where):
        lab = kmslab.Lab(seed=21)
        lab.simulate(timedelta(hours=1), rate=400, progress=False)
        return {str(Path(f).relative_to(where)): Path(f).read_bytes()
                for f in lab.audit.export_cloudtrail_logs(where)}
    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_records_per_file_and_interval(tmp_path):
    lab = kmslab.Lab(seed=4)
    lab.simulate(timedelta(minutes=20), rate=600, progress=False)
    files = lab.audit.export_cloudtrail_logs(tmp_path / "small", records_per_file=7)
    sizes = [len(_contents(f)) for f in files]
    assert max(sizes) == 7 and sum(sizes) == len(lab.audit)
    hourly = lab.audit.export_cloudtrail_logs(tmp_path / "hourly",
                                              interval=timedelta(hours=1))
    assert len(hourly) < len(lab.audit.export_cloudtrail_logs(tmp_path / "five"))
    for f in hourly:
        assert FILE.match(Path(f).name)[3].endswith("00Z")  # delivered on the hour
    with pytest.raises(ValueError, match="records_per_file"):
        LogFileWriter(tmp_path, records_per_file=0)
    with pytest.raises(ValueError, match="minutes"):
        LogFileWriter(tmp_path, interval=timedelta(seconds=30))
    with pytest.raises(ValueError, match="minutes"):
        LogFileWriter(tmp_path, interval=timedelta(seconds=90))


def test_a_delivered_file_is_never_overwritten(tmp_path):
    lab = kmslab.Lab(seed=4)
    lab.client().create_key()
    [path] = lab.audit.export_cloudtrail_logs(tmp_path)
    before = Path(path).read_bytes()
    with pytest.raises(FileExistsError):
        lab.audit.export_cloudtrail_logs(tmp_path)
    assert Path(path).read_bytes() == before


def test_a_view_exports_only_its_records(world, tmp_path):
    lab, _ = world
    view = lab.audit.filter(event_name="Decrypt", success=False)
    files = view.export_cloudtrail_logs(tmp_path)
    records = [r for f in files for r in _contents(f)]
    assert len(records) == len(view) > 0
    assert {r["eventName"] for r in records} == {"Decrypt"}
    assert all("errorCode" in r for r in records)


def test_an_unordered_trail_is_written_in_time_order(world, tmp_path):
    lab, _ = world
    records = lab.audit.records()[:50]
    shuffled = records[::-1]
    files = AuditLog.from_cloudtrail(shuffled).export_cloudtrail_logs(tmp_path)
    back = AuditLog.from_cloudtrail_logs(tmp_path).records()
    assert sorted(map(_canonical, back)) == sorted(map(_canonical, records))
    assert max(len(_contents(f)) for f in files) > 1
    for f in files:
        times = [r["eventTime"] for r in _contents(f)]
        assert times == sorted(times)


def test_reading_refuses_what_is_not_a_log_tree(tmp_path):
    with pytest.raises(FileNotFoundError):
        AuditLog.from_cloudtrail_logs(tmp_path / "missing")
    bad = tmp_path / "AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/01"
    bad.mkdir(parents=True)
    (bad / "notes.json.gz").write_bytes(gzip.compress(b"{}"))  # not a log file's name: ignored
    assert len(AuditLog.from_cloudtrail_logs(tmp_path)) == 0
    (bad / "111122223333_CloudTrail_us-east-1_20250101T0005Z_AAAAAAAAAAAAAAAA.json.gz") \
        .write_bytes(gzip.compress(b'{"Events": []}'))
    with pytest.raises(ValueError, match="no Records list"):
        AuditLog.from_cloudtrail_logs(tmp_path)


# ----------------------------------------------------------------- Parquet

def test_parquet_holds_one_row_per_record_with_cloudtrails_names(world, exported):
    lab, _ = world
    table = pq.read_table(exported[2])
    records = lab.audit.records()
    assert table.num_rows == len(records)
    assert table.column_names[:5] == ["eventVersion", "userIdentity", "eventTime",
                                      "eventSource", "eventName"]
    rows = table.to_pylist()
    for rec, row in zip(records, rows, strict=True):
        for name in ("eventTime", "eventName", "eventID", "requestID", "awsRegion",
                     "recipientAccountId", "errorCode", "errorMessage", "eventType",
                     "readOnly"):
            assert row[name] == rec.get(name), name
        for name in ("requestParameters", "responseElements", "additionalEventData",
                     "serviceEventDetails"):
            assert (None if row[name] is None else json.loads(row[name])) == rec.get(name), name
        assert row["userIdentity"]["arn"] == rec["userIdentity"].get("arn")
        assert row["userIdentity"]["invokedBy"] == rec["userIdentity"].get("invokedBy")
        assert [r["ARN"] for r in row["resources"] or []] == \
            [r["ARN"] for r in rec.get("resources", [])]


# ----------------------------------------------------------------- SQL

def _sql(source, name, **params) -> pd.DataFrame:
    db = audit_sql.connect(source)
    return db.sql(audit_sql.query(name, **params)).df()


def _frames_equal(got: pd.DataFrame, expected: pd.DataFrame):
    got = got.reset_index(drop=True)
    expected = expected.reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    assert got.astype(object).where(got.notna(), None).values.tolist() == \
        expected.astype(object).where(expected.notna(), None).values.tolist()


@pytest.fixture(scope="module")
def frame(world):
    df = world[0].audit.frame()
    return df.assign(**{c: df[c].astype(object) for c in df.columns
                        if isinstance(df[c].dtype, pd.CategoricalDtype)})


def test_top_decrypters_match_pandas(exported, frame):
    ok = frame[(frame.eventName == "Decrypt") & frame.success]
    expected = (ok.groupby(["keyArn", "userIdentity.arn"]).size().rename("decrypts")
                .reset_index().rename(columns={"keyArn": "key_arn", "userIdentity.arn": "principal"})
                .sort_values(["key_arn", "decrypts", "principal"], ascending=[True, False, True]))
    assert len(expected) >= 2
    for source in (exported[0], exported[2]):
        _frames_equal(_sql(source, "top_decrypters"), expected)


def test_access_denied_by_principal_matches_pandas(exported, frame):
    denied = frame[frame.errorCode == "AccessDenied"]
    expected = (denied.groupby(["userIdentity.arn", "eventName"]).size().rename("denied")
                .reset_index().rename(columns={"userIdentity.arn": "principal",
                                               "eventName": "eventname"})
                .sort_values(["denied", "principal", "eventname"], ascending=[False, True, True]))
    assert expected.principal.str.endswith("/mallory").sum() >= 2
    for source in (exported[0], exported[2]):
        _frames_equal(_sql(source, "access_denied_by_principal"), expected)


def test_keys_unused_match_pandas(world, exported, frame):
    lab, keys = world
    now = lab.clock.now()
    crypto = frame.eventName.isin(audit_sql.CRYPTOGRAPHIC_OPERATIONS) & frame.success
    arns = set(frame.keyArn.dropna()) | set(frame.sourceKeyArn.dropna())
    for days in (0, 1, 30, 45):
        cutoff = now - timedelta(days=days)
        used = frame[crypto]  # ReEncrypt uses two keys: the source key too
        last = pd.concat([used[["keyArn", "eventTime"]],
                          used[["sourceKeyArn", "eventTime"]].dropna().set_axis(
                              ["keyArn", "eventTime"], axis=1)]).groupby("keyArn").eventTime.max()
        unused = sorted((arn for arn in arns if arn not in last or last[arn] < cutoff),
                        key=lambda a: (a in last, last.get(a, pd.NaT) if a in last else 0, a))
        for source in (exported[0], exported[2]):
            got = _sql(source, "keys_unused", as_of=now, days=days)
            assert list(got.key_arn) == unused, days
            assert [None if pd.isna(t) else t for t in got.last_used] == \
                [last[a] if a in last else None for a in unused]
    # the idle key was last used 40 days ago: unused for 30 days, not for 45
    assert keys["idle"] in list(_sql(exported[0], "keys_unused", as_of=now, days=30).key_arn)
    assert keys["idle"] not in list(_sql(exported[0], "keys_unused", as_of=now, days=45).key_arn)
    assert keys["app"] not in list(_sql(exported[0], "keys_unused", as_of=now, days=1).key_arn)


def test_calls_via_service_match_pandas(exported, frame):
    via = frame[frame["userIdentity.invokedBy"].notna() & (frame.eventType == "AwsApiCall")]
    expected = (via.groupby(["userIdentity.invokedBy", "eventName"]).size().rename("calls")
                .reset_index().rename(columns={"userIdentity.invokedBy": "service",
                                               "eventName": "eventname"})
                .sort_values(["calls", "service", "eventname"], ascending=[False, True, True]))
    assert set(expected.service) == {"s3.amazonaws.com", "ebs.amazonaws.com"}
    for source in (exported[0], exported[2]):
        _frames_equal(_sql(source, "calls_via_service"), expected)


def test_the_view_has_athenas_columns(exported):
    db = audit_sql.connect(exported[0])
    columns = [row[0] for row in db.execute("DESCRIBE cloudtrail_logs").fetchall()]
    ddl = audit_sql.ATHENA_DDL
    for name in columns:
        assert re.search(rf"^\s+{name} ", ddl, re.M), name
    count = "SELECT count(*) FROM cloudtrail_logs"
    assert db.execute(count).fetchall() == audit_sql.connect(exported[2]).execute(count).fetchall()


def test_query_and_connect_refuse_bad_input(tmp_path):
    with pytest.raises(KeyError, match="no query"):
        audit_sql.query("who_is_evil")
    with pytest.raises(ValueError, match="as_of"):
        audit_sql.query("keys_unused")
    with pytest.raises(ValueError, match="days"):
        audit_sql.query("keys_unused", as_of="2025-01-01T00:00:00Z", days=-1)
    with pytest.raises(ValueError):
        audit_sql.query("keys_unused", as_of="yesterday'; DROP TABLE x; --")
    with pytest.raises(FileNotFoundError):
        audit_sql.connect(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no CloudTrail log files"):
        audit_sql.connect(tmp_path)


# ----------------------------------------------------------------- streaming

def _simulated(seed, where=None):
    lab = kmslab.Lab(seed=seed)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    lab.add_user("mallory")
    before = len(lab.audit)
    lab.simulate(timedelta(hours=2), rate=3000, keys=[key], principals=["admin", "mallory"],
                 progress=False, cloudtrail_logs=where)
    return lab, key, before


def test_simulate_streams_the_same_records_to_the_files(tmp_path):
    memory, key, before = _simulated(8)
    streamed, _, _ = _simulated(8, tmp_path)
    # the simulation's records are in the files, not in the trail
    assert len(streamed.audit) == before
    written = list(AuditLog.from_cloudtrail_logs(tmp_path))
    expected = memory.audit.records()[before:]
    assert len(written) == len(expected) > 4096  # more than one part delivered
    strip = [{k: v for k, v in r.items() if k != "eventID"} for r in expected]
    assert [{k: v for k, v in r.items() if k != "eventID"} for r in written] == strip
    ids = [r["eventID"] for r in written] + [r["eventID"] for r in streamed.audit]
    assert len(set(ids)) == len(ids)
    # GetKeyLastUsage still knows the key's last use
    a = memory.client().get_key_last_usage(KeyId=key)["KeyLastUsage"]
    b = streamed.client().get_key_last_usage(KeyId=key)["KeyLastUsage"]
    assert (a["Operation"], a["Timestamp"], a["KmsRequestId"]) == \
        (b["Operation"], b["Timestamp"], b["KmsRequestId"])
    assert b["CloudTrailEventId"] == written[-1]["eventID"] or \
        b["CloudTrailEventId"] in {r["eventID"] for r in written}
    # the trail records on after the run, with eventIDs of its own
    held = len(streamed.audit)
    streamed.client().describe_key(KeyId=key)
    assert len(streamed.audit) == held + 1
    assert streamed.audit.records()[-1]["eventID"] not in set(ids)


def test_streamed_simulation_runs_in_constant_memory(tmp_path):
    lab = kmslab.Lab(seed=12)
    key = lab.client().create_key()["KeyMetadata"]["Arn"]
    lab.simulate(timedelta(minutes=10), rate=6000, keys=[key], progress=False,
                 cloudtrail_logs=tmp_path / "warm")  # caches filled once
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        lab.simulate(timedelta(hours=1), rate=100_000, keys=[key], progress=False,
                     cloudtrail_logs=tmp_path / "run")
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    written = sum(len(_contents(f)) for f in log_files(tmp_path / "run"))
    assert written > 95_000
    # in memory, 100,000 records would keep some 2 MB of columns; delivered, none stay
    assert current - base < 1_000_000
    assert peak - base < 30_000_000  # one part of the trail and one file per Region at most


def test_a_trail_renders_as_its_records_do(world, tmp_path):
    """Exports render each shape once and fill in what varies per row: the same records as
    rendering each row, also for imported records kept as given and rows with a response."""
    from kmslab.audit_parquet import table
    lab, _ = world
    assert table(lab.audit).equals(table(lab.audit.records()))
    records = lab.audit.records()[:200]
    records[5] = {**records[5], "vpcEndpointId": "vpce-1a2b3c4d"}  # a field kmslab does not model
    records[6] = {**records[6], "eventTime": "2025-01-01T09:00:00.250Z"}
    imported = AuditLog.from_cloudtrail(records)
    assert table(imported).equals(table(imported.records()))
    files = imported.export_cloudtrail_logs(tmp_path)
    back = [r for f in files for r in _contents(f)]
    assert sorted(map(_canonical, back)) == sorted(map(_canonical, records))
    assert any(r.get("vpcEndpointId") == "vpce-1a2b3c4d" for r in back)
