"""The audit trail at scale: CloudTrail log files, Parquet, and SQL over them.

    PYTHONPATH=src python benchmarks/bench_audit_files.py [--records 1000000] [--rounds 3]

(a) lab.audit.export_cloudtrail_logs(dir) vs json.dumps + gzip of the same records
    (already rendered as dicts) into the same files;
(b) lab.audit.to_parquet(path) vs pyarrow.Table.from_pydict of the same records' columns
    + pyarrow.parquet.write_table;
(c) a DuckDB query over the Parquet file (AccessDenied by principal and top decrypters) vs
    the same aggregation in pandas on lab.audit.frame() (the frame built, and already built).

Targets (issue 21): (a) and (b) within 1.5x. Medians of ``--rounds`` runs, measured in this
run, with each reference on the same records.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from bench_audit import million  # noqa: E402
from kmslab import audit_sql  # noqa: E402
from kmslab.audit_files import RECORDS_PER_FILE  # noqa: E402


def timed(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fresh(root: str, name: str) -> str:
    path = os.path.join(root, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def reference_files(records: list[dict], where: str) -> None:
    """json.dumps + gzip of the same records, in files of the same size."""
    os.makedirs(where, exist_ok=True)
    for i in range(0, len(records), RECORDS_PER_FILE):
        body = json.dumps({"Records": records[i:i + RECORDS_PER_FILE]},
                          separators=(",", ":")).encode()
        with open(os.path.join(where, f"{i}.json.gz"), "wb") as f:
            f.write(gzip.compress(body, compresslevel=6, mtime=0))


def reference_parquet(records: list[dict], path: str) -> None:
    """pyarrow.Table.from_pydict of the records' columns (nested values as pyarrow infers)."""
    names = list(dict.fromkeys(k for r in records[:1000] for k in r))
    table = pa.Table.from_pydict({n: [r.get(n) for r in records] for n in names})
    pq.write_table(table, path, compression="zstd")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lab, elapsed = million(args.records)
    n = len(lab.audit)
    print(f"trail of {n:,} records (recorded in {elapsed:.1f} s)")
    root = tempfile.mkdtemp(prefix="kmslab-bench-")
    try:
        render = timed(lambda: lab.audit.records(), args.rounds)
        records = lab.audit.records()
        ours = timed(lambda: lab.audit.export_cloudtrail_logs(fresh(root, "ours")), args.rounds)
        ref = timed(lambda: reference_files(records, fresh(root, "ref")), args.rounds)
        files = sum(len(fs) for _, _, fs in os.walk(os.path.join(root, "ours")))
        print(f"(a) CloudTrail log files ({files:,} files): export {ours:.2f} s; json.dumps + gzip "
              f"of the rendered records {ref:.2f} s; ratio {ours / ref:.2f}x (target <= 1.5x) "
              f"[{'OK' if ours / ref <= 1.5 else 'OVER'}]")
        print(f"    (rendering the records as dicts alone, lab.audit.records(): {render:.2f} s)")

        path = os.path.join(root, "trail.parquet")
        ours = timed(lambda: lab.audit.to_parquet(path), args.rounds)
        ref = timed(lambda: reference_parquet(records, os.path.join(root, "ref.parquet")),
                    args.rounds)
        size = os.path.getsize(path)
        print(f"(b) Parquet ({size / 1e6:.1f} MB): to_parquet {ours:.2f} s; "
              f"Table.from_pydict + write_table of the rendered records {ref:.2f} s; "
              f"ratio {ours / ref:.2f}x (target <= 1.5x) [{'OK' if ours / ref <= 1.5 else 'OVER'}]")

        db = audit_sql.connect(path)
        denied = audit_sql.query("access_denied_by_principal")
        decrypters = audit_sql.query("top_decrypters")

        def duck():
            db.execute(denied).fetchall()
            db.execute(decrypters).fetchall()

        def pandas_on(df):
            failed = df[df.errorCode == "AccessDenied"]
            failed.groupby(["userIdentity.arn", "eventName"], observed=True).size()
            ok = df[(df.eventName == "Decrypt") & df.success]
            ok.groupby(["keyArn", "userIdentity.arn"], observed=True).size()

        frame = lab.audit.frame()
        q = timed(duck, max(args.rounds, 5))
        p = timed(lambda: pandas_on(frame), max(args.rounds, 5))
        built = timed(lambda: pandas_on(lab.audit.frame()), args.rounds)
        print(f"(c) two queries (AccessDenied by principal, top decrypters): DuckDB over Parquet "
              f"{q * 1e3:.0f} ms; pandas on lab.audit.frame() {p * 1e3:.0f} ms (ratio {q / p:.2f}x), "
              f"{built * 1e3:.0f} ms with the frame built (ratio {q / built:.2f}x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
