"""Server fairness: latency of cheap calls while other learners make RSA_4096 key pairs.

One ``kmslab serve`` process; 20 simulated learners, each on its own keep-alive
connection, alternate ListKeys and Encrypt with an exponential think time
(mean ``--think`` ms). The run has two phases of ``--seconds`` each:

* reference: the 20 learners alone;
* loaded: the same 20 learners while 4 of them also run GenerateDataKeyPair
  (KeyPairSpec RSA_4096) in a loop, each on a connection of its own.

Prints p50 and p99 latency of the cheap calls per phase, the loaded/reference
ratio and the key pairs made per second. Target: p99 of the cheap calls under
50 ms in the loaded phase on 2 cores.

Requests are built once and sent with ``http.client`` (the server runs with
``--accept-any-signature``), so the client side costs little and the figures
are the server's.

Run: PYTHONPATH=src python benchmarks/bench_server_fairness.py [--seconds 20 --think 100]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
LEARNERS = 20
GENERATORS = 4
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/kms/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Connection:
    """One learner's keep-alive connection sending prepared KMS requests."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, operation: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        self.conn.request("POST", "/", body=data, headers={
            "X-Amz-Target": f"TrentService.{operation}",
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Date": "20250101T000000Z",
            "Authorization": AUTH})
        response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{operation}: {response.status} {payload[:200]!r}")
        return json.loads(payload) if payload else {}


def learner(port: int, key_id: str, think: float, stop: threading.Event, out: list[float],
            seed: int) -> None:
    rng = random.Random(seed)
    conn = Connection(port)
    calls = [("ListKeys", {}), ("Encrypt", {"KeyId": key_id, "Plaintext": "aGVsbG8="})]
    i = seed
    while not stop.is_set():
        time.sleep(rng.expovariate(1 / think))
        operation, body = calls[i % 2]
        i += 1
        t0 = time.perf_counter()
        conn.call(operation, body)
        out.append(time.perf_counter() - t0)


def generator(port: int, key_id: str, stop: threading.Event, made: list[int]) -> None:
    conn = Connection(port)
    while not stop.is_set():
        conn.call("GenerateDataKeyPair", {"KeyId": key_id, "KeyPairSpec": "RSA_4096"})
        made.append(1)


def phase(port: int, key_id: str, seconds: float, think: float, generators: int) -> dict:
    stop = threading.Event()
    latencies: list[float] = []
    made: list[int] = []
    threads = [threading.Thread(target=learner, args=(port, key_id, think, stop, latencies, n))
               for n in range(LEARNERS)]
    threads += [threading.Thread(target=generator, args=(port, key_id, stop, made))
                for _ in range(generators)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # warm up: connections open, first calls made
    latencies.clear()
    made.clear()
    time.sleep(seconds)
    stop.set()
    calls = list(latencies)
    pairs = len(made)
    for thread in threads:
        thread.join(60)
    ordered = sorted(calls)
    return {"calls": len(ordered), "p50": statistics.median(ordered),
            "p99": ordered[int(0.99 * (len(ordered) - 1))], "max": ordered[-1],
            "pairs_per_s": pairs / seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--think", type=float, default=100.0, help="mean think time (ms)")
    args = parser.parse_args()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="kmslab-bench-fairness-"))
    log = workdir / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--seed", "1",
             "--accept-any-signature", "--log-level", "warning"],
            env={**os.environ, "PYTHONPATH": SRC}, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_kmslab/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.05)
        key_id = Connection(port).call("CreateKey", {})["KeyMetadata"]["KeyId"]
        think = args.think / 1000
        results = {"reference": phase(port, key_id, args.seconds, think, 0),
                   "loaded": phase(port, key_id, args.seconds, think, GENERATORS)}
        for name, r in results.items():
            print(f"{name:9s} ListKeys+Encrypt from {LEARNERS} learners: {r['calls']:6d} calls, "
                  f"p50 {r['p50'] * 1e3:7.2f} ms, p99 {r['p99'] * 1e3:8.2f} ms, "
                  f"max {r['max'] * 1e3:8.2f} ms; RSA_4096 pairs/s {r['pairs_per_s']:.2f}")
        ref, loaded = results["reference"], results["loaded"]
        print(f"ratio loaded/reference: p50 {loaded['p50'] / ref['p50']:.2f}x, "
              f"p99 {loaded['p99'] / ref['p99']:.2f}x; loaded p99 "
              f"{loaded['p99'] * 1e3:.1f} ms (target < 50 ms)")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
