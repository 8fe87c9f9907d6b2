"""Snapshot speed: a class-sized lab saved and loaded, against the KDF step alone; and what
keeping a served lab saved (``kmslab serve --snapshot``) adds to a CreateKey-heavy workload.

Run: PYTHONPATH=src python benchmarks/bench_snapshot.py [--accounts 30 --keys 20 --records 50000]

(a) The class-sized lab: 30 learner accounts with 20 keys (and an alias) each, 50,000
    audit records of Encrypt/Decrypt calls. Medians of repeated runs, each against one
    scrypt derivation (N=2**15, r=8, p=1) measured in the same run: the passphrase KDF is
    the deliberate, fixed cost of sealing with a passphrase; the ratio shows what the lab
    itself adds. "save, key derived" is what ``lab.save`` costs a saver that derived the
    key once; "autosave" what a :class:`kmslab.snapshot.autosave.AutoSaver` pays per save
    (key derived once, unchanged keys and audit records not encoded again).

(b) Two ``kmslab serve`` processes hold the same class-sized lab, one of them keeping its
    snapshot saved (AutoSaver, at most one save a second). Keep-alive HTTP clients (raw
    requests, no SDK, so the servers are what is busy) send the same ``--calls`` calls to
    each server at once in every round (CreateKey calls, then a class's mix); each server's
    processor time (/proc schedstat of all its threads, the saver's included) per call, once
    the saver has written its first (whole) snapshot. Target: in the median round, the saving
    server spends < 5% more per call than the plain one. Both labs grow by the same calls, so Python's full
    garbage collections (a third of a second each in a lab growing by thousands of keys a
    second) fall in the same rounds of both; with rounds of a fixed time they fell in
    different rounds and made the medians swing by 10% either way. The saver thread's own
    processor time per call is shown too: the cost the saving itself has.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import kmslab  # noqa: E402
from kmslab import snapshot  # noqa: E402
from kmslab.crypto.sealing import SealingKey  # noqa: E402

from _timing import fmt  # noqa: E402

PASS = "benchmark passphrase"
SRC = str(Path(__file__).resolve().parents[1] / "src")


def class_lab(accounts: int = 30, keys: int = 20, records: int = 50_000) -> kmslab.Lab:
    """A class: ``accounts`` learners, ``keys`` keys each (with aliases), ``records`` audited calls."""
    lab = kmslab.Lab(seed=7)
    rng = random.Random(7)
    learners = []
    for i in range(accounts):
        account = lab.add_account(f"{100000000000 + i:012d}", name=f"learner-{i}")
        user = lab.add_user("learner", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}, account=account)
        kms = lab.client(account=account, as_=user.arn)
        ids = []
        for k in range(keys):
            key_id = kms.create_key(Description=f"learner {i} key {k}")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=f"alias/key-{k}", TargetKeyId=key_id)
            ids.append(key_id)
        learners.append((kms, ids))
    while len(lab.audit) < records:
        kms, ids = rng.choice(learners)
        context = {"course": "kms-101", "exercise": str(rng.randrange(10))}
        blob = kms.encrypt(KeyId=rng.choice(ids), Plaintext=b"homework",
                           EncryptionContext=context)["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        if rng.random() < 0.01:
            lab.clock.advance(minutes=5)
    return lab


def median_seconds(fn, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_save_load(lab: kmslab.Lab, repeat: int) -> bytes:
    data = lab.to_bytes(PASS)
    key = SealingKey.derive(PASS)
    cache: dict = {}
    snapshot.save_bytes(lab, key=key, cache=cache)
    kdf = median_seconds(lambda: SealingKey.derive(PASS), repeat)
    rows = [
        ("save (passphrase)", median_seconds(lambda: lab.to_bytes(PASS), repeat)),
        ("save, key derived", median_seconds(lambda: snapshot.save_bytes(lab, key=key), repeat)),
        ("autosave (cached)", median_seconds(
            lambda: snapshot.save_bytes(lab, key=key, cache=cache), repeat)),
        ("load (passphrase)", median_seconds(lambda: kmslab.Lab.from_bytes(data, PASS), repeat)),
    ]
    keys = sum(len(s.keys) for s in lab.services())
    print(f"(a) class-sized lab: {len(lab.accounts)} accounts, {keys} keys, "
          f"{len(lab.audit):,} audit records; snapshot {len(data) / 1e6:.1f} MB")
    print(f"    scrypt alone (the KDF step)  {fmt(kdf)}")
    for name, seconds in rows:
        print(f"    {name:<28} {fmt(seconds)}   x{seconds / kdf:5.2f} KDF")
    return data


# ----------------------------------------------------------------- (b) the server

def serve_main(path: str, port: int, autosave: bool) -> None:
    """A server process: the lab in ``path``, saved while serving when ``autosave``."""
    from kmslab.interop.server import serve
    from kmslab.snapshot.autosave import AutoSaver

    lab = kmslab.Lab.load(path, PASS)
    saver = None
    if autosave:
        saver = AutoSaver(path, SealingKey.derive(PASS))
        threading.Thread(target=_tell_saver_thread, args=(path,), daemon=True).start()
    serve(lab, "127.0.0.1", port, accept_any_signature=True, log_level="warning",
          autosave=saver, save=(lambda lab: saver.save_now(whole=True)) if saver else None)


def _tell_saver_thread(path: str) -> None:
    """In the server: write the saver thread's id next to the snapshot, once it runs."""
    while True:
        for thread in threading.enumerate():
            if thread.name == "kmslab-autosave" and thread.native_id is not None:
                Path(path + ".saver-thread").write_text(str(thread.native_id))
                return
        time.sleep(0.05)


def cpu_seconds(pid: int, thread: str | None = None) -> float:
    """Processor time of every thread of a process (or of one), in nanoseconds' precision
    (schedstat)."""
    total = 0
    tasks = [Path(f"/proc/{pid}/task/{thread}")] if thread else Path(f"/proc/{pid}/task").iterdir()
    for task in tasks:
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
            pass
    return total / 1e9


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(path: str, autosave: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", path, "--port", str(port)]
        + (["--autosave"] if autosave else []),
        env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            urllib.request.urlopen(url + "/_kmslab/health", timeout=1)
            return process, url
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def _request(target: str, body: dict) -> bytes:
    """One KMS request as bytes (with --accept-any-signature only the credential scope is
    read: the access key id and the Region)."""
    data = json.dumps(body).encode()
    return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: TrentService.{target}\r\nAuthorization: AWS4-HMAC-SHA256 "
            f"Credential=AKIABENCH/20250101/us-east-1/kms/aws4_request, SignedHeaders=host, "
            f"Signature=0\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


class _Connection:
    """A keep-alive connection that sends one request and reads its whole response."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buffer = b""

    def call(self, target: str, body: dict) -> dict:
        self.sock.sendall(_request(target, body))
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        while len(self.buffer) < length:
            self.buffer += self.sock.recv(65536)
        body_bytes, self.buffer = self.buffer[:length], self.buffer[length:]
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{target}: {head[:40]!r} {body_bytes[:200]!r}")
        return json.loads(body_bytes) if body_bytes else {}

    def close(self):
        self.sock.close()


def create_keys(connection: _Connection, n: int, done: list) -> None:
    """The CreateKey flood: every call makes a key."""
    connection.call("CreateKey", {"Description": "CreateKey-heavy"})
    done.append(1)


create_keys.calls = 1  # type: ignore[attr-defined]


_ALIASES = itertools.count()


def class_mix(connection: _Connection, n: int, done: list) -> None:
    """What a learner does: a key, an alias for it, four Encrypt and four Decrypt calls."""
    key_id = connection.call("CreateKey", {"Description": "homework"})["KeyMetadata"]["KeyId"]
    connection.call("CreateAlias", {"AliasName": f"alias/hw-{next(_ALIASES)}",
                                    "TargetKeyId": key_id})
    for i in range(4):
        blob = connection.call("Encrypt", {"KeyId": key_id, "Plaintext": "ZXNzYXk=",
                                           "EncryptionContext": {"part": str(i)}})["CiphertextBlob"]
        connection.call("Decrypt", {"CiphertextBlob": blob, "EncryptionContext": {"part": str(i)}})
    done.extend([1] * 10)


class_mix.calls = 10  # type: ignore[attr-defined]


class _Budget:
    """What one round asks of one server: ``units`` runs of the work, shared by its clients."""

    def __init__(self, units: int):
        self._left = units
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            self._left -= 1
            return self._left >= 0


def _client(port: int, work, budget: _Budget, done: list) -> None:
    connection = _Connection(port)
    n = 0
    try:
        while budget.take():
            work(connection, n, done)
            n += 1
    finally:
        connection.close()


def bench_server(data: bytes, work, rounds: int, calls: int, threads: int) -> None:
    """``work`` as fast as ``threads`` keep-alive clients per server do it (raw requests, no
    SDK in the way), to both servers at once: both are as busy as each other, and each round
    sends both the same ``calls`` calls."""
    folder = tempfile.mkdtemp(prefix="kmslab-bench-")
    servers = {}
    for name, autosave in (("plain", False), ("autosave", True)):
        path = os.path.join(folder, f"{name}.kmslab")
        Path(path).write_bytes(data)
        servers[name] = start_server(path, autosave)
    start_keys = sum(len(s.keys) for s in kmslab.Lab.from_bytes(data, PASS).services())
    try:
        samples: dict[str, list[float]] = {name: [] for name in (*servers, "saver")}
        totals = {name: 0 for name in servers}
        cpu = {name: 0.0 for name in servers}  # over the measured rounds
        saver_pid = servers["autosave"][0].pid
        elapsed: list[float] = []

        def round_() -> None:
            budgets = {name: _Budget(calls // work.calls) for name in servers}
            done: dict[str, list] = {name: [] for name in servers}
            before = {name: cpu_seconds(p.pid) for name, (p, _) in servers.items()}
            saver_before = cpu_seconds(saver_pid, saver_thread)
            workers = [threading.Thread(target=_client, args=(
                int(url.rsplit(":", 1)[1]), work, budgets[name], done[name]))
                for name, (_, url) in servers.items() for _ in range(threads)]
            start = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed.append(time.perf_counter() - start)
            for name, (process, _) in servers.items():
                spent = cpu_seconds(process.pid) - before[name]
                samples[name].append(spent / len(done[name]))
                totals[name] += len(done[name])
                cpu[name] += spent
            samples["saver"].append(
                (cpu_seconds(saver_pid, saver_thread) - saver_before) / len(done["autosave"]))

        journal_file = Path(folder, "autosave.kmslab.journal")
        thread_file = Path(folder, "autosave.kmslab.saver-thread")
        for _ in range(600):  # the saver's first save (the whole lab, once, at start)
            if journal_file.exists() and thread_file.exists():
                break
            time.sleep(0.05)
        saver_thread = thread_file.read_text()
        round_()  # warm up
        for series in samples.values():
            series.clear()
        for name in servers:
            totals[name], cpu[name] = 0, 0.0
        elapsed.clear()
        for _ in range(rounds):
            round_()
        time.sleep(1.5)  # the last coalesced save
        path = Path(folder, "autosave.kmslab")
        keys = sum(len(s.keys) for s in kmslab.Lab.load(path, PASS).services())
        size = path.stat().st_size + Path(str(path) + ".journal").stat().st_size
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
    plain = statistics.median(samples["plain"])
    saving = statistics.median(samples["autosave"])
    saver = statistics.median(samples["saver"])
    # rounds are paired (the same calls to both servers, at once): the median of the rounds'
    # ratios, and of the saver's share of each round's plain server
    added = statistics.median(a / p - 1 for a, p in zip(samples["autosave"], samples["plain"],
                                                         strict=True))
    share = statistics.median(s / p for s, p in zip(samples["saver"], samples["plain"], strict=True))
    overall = (cpu["autosave"] / totals["autosave"]) / (cpu["plain"] / totals["plain"]) - 1
    rate = totals["autosave"] / sum(elapsed)
    print(f"    {work.__name__}: {rate:,.0f} calls/s per server; the lab grows from {start_keys} "
          f"to {keys} keys, {size / 1e6:.1f} MB saved (snapshot and journal)")
    print(f"      server CPU per call: {plain * 1e3:.3f} ms plain, {saving * 1e3:.3f} ms while "
          f"keeping the snapshot saved; each round, the saving server spent {added:+.1%} "
          f"(target < 5%)  [{'OK' if added < 0.05 else 'MISSED'}]; over all rounds {overall:+.1%}")
    print(f"      the saver thread itself: {saver * 1e6:.1f} us per call, {share:.1%} of a "
          f"plain server's CPU per call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=8000, help="calls per server in a round")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--serve")
    parser.add_argument("--port", type=int)
    parser.add_argument("--autosave", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve_main(args.serve, args.port, args.autosave)
        return
    if (args.rounds + 1) * args.calls + args.keys >= 100_000:  # the warm-up round, then rounds
        parser.error("the CreateKey flood would pass the 100,000 keys an account may have in a "
                     "Region (AWS's quota, kmslab's too): fewer --rounds or --calls")
    lab = class_lab(args.accounts, args.keys, args.records)
    data = bench_save_load(lab, args.repeat)
    print(f"(b) calls over HTTP to both servers at once, {args.threads} keep-alive clients each, "
          f"{args.rounds} rounds of {args.calls:,} calls each")
    for work in (create_keys, class_mix):
        bench_server(data, work, args.rounds, args.calls, args.threads)


if __name__ == "__main__":
    main()
