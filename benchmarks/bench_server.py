"""Server CPU per Encrypt call: ``kmslab serve`` vs moto's server, same run, loopback.

Each server runs as its own process and all run at once; a boto3 client per
server sends Encrypt calls in batches that alternate between the servers (so
a busy machine slows every subject alike), and each server process's CPU
time (user + system, from /proc) is read around its batches. moto's server
is taken from ``$MOTO_SERVER`` or ``PATH`` (install ``moto[server]`` in a
separate benchmark environment); without it only kmslab is measured.
Target: kmslab <= 0.1x moto per call.

kmslab is measured with ``--accept-any-signature``, like moto (which checks
no signature), and with SigV4 verified against a lab access key (a
``--classroom 1`` learner).

Run: PYTHONPATH=src python benchmarks/bench_server.py [--calls 300 --rounds 9]
"""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

SRC = str(Path(__file__).resolve().parents[1] / "src")
TICK = os.sysconf("SC_CLK_TCK")
PLAINTEXT = b"x" * 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    for _ in range(400):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answering, even if with an error
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}") from None
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Subject:
    name: str
    process: subprocess.Popen
    kms: object
    key_id: str
    samples: list[float] = field(default_factory=list)

    def batch(self, calls: int) -> None:
        before = cpu_seconds(self.process.pid)
        for _ in range(calls):
            self.kms.encrypt(KeyId=self.key_id, Plaintext=PLAINTEXT)
        self.samples.append((cpu_seconds(self.process.pid) - before) / calls)


def start(name: str, command: list[str], port: int, health: str, workdir: Path,
          env: dict | None = None, credentials=None) -> Subject:
    log = workdir / f"{name.split()[0]}-{port}.log"  # a file: a full pipe would stall the server
    with open(log, "w") as out:
        process = subprocess.Popen(command, env={**os.environ, **(env or {})}, cwd=workdir,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + health, process, log)
    key_id, secret = credentials() if credentials else ("AKIAIOSFODNN7EXAMPLE", "example")
    kms = boto3.session.Session().client(
        "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(100):  # warm up
        kms.encrypt(KeyId=key, Plaintext=PLAINTEXT)
    return Subject(name, process, kms, key)


def kmslab_command(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--seed", "1",
            "--log-level", "warning", *options]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300, help="Encrypt calls per batch")
    parser.add_argument("--rounds", type=int, default=9, help="batches per server")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kmslab-bench-server-"))
    kmslab_env = {"PYTHONPATH": SRC}
    subjects: list[Subject] = []
    try:
        port = free_port()
        subjects.append(start("kmslab serve (accept any signature)",
                              kmslab_command(port, "--accept-any-signature"), port,
                              "/_kmslab/health", workdir, kmslab_env))
        port = free_port()

        def learner_key():
            profile = configparser.ConfigParser()
            profile.read(workdir / "classroom" / "credentials")
            return (profile["learner1"]["aws_access_key_id"],
                    profile["learner1"]["aws_secret_access_key"])

        subjects.append(start("kmslab serve (SigV4 verified)",
                              kmslab_command(port, "--classroom", "1", "--classroom-dir",
                                             str(workdir / "classroom")),
                              port, "/_kmslab/health", workdir, kmslab_env, learner_key))
        moto = os.environ.get("MOTO_SERVER") or shutil.which("moto_server")
        if moto:
            port = free_port()
            subjects.append(start("moto_server", [moto, "-p", str(port)], port, "/moto-api/",
                                  workdir))
        for _ in range(args.rounds):
            for subject in subjects:
                subject.batch(args.calls)
        medians = {}
        for subject in subjects:
            medians[subject.name] = statistics.median(subject.samples)
            print(f"{subject.name:36s} server CPU median {medians[subject.name] * 1e3:7.3f} ms/call "
                  f"(batches: {', '.join(f'{s * 1e3:.3f}' for s in subject.samples)})")
        if "moto_server" in medians:
            for name in list(medians)[:2]:
                print(f"ratio {name} / moto: {medians[name] / medians['moto_server']:.3f}x "
                      "(target <= 0.1x)")
        else:
            print("moto_server not found (set MOTO_SERVER or put it on PATH): kmslab only")
    finally:
        for subject in subjects:
            subject.process.terminate()
        for subject in subjects:
            try:
                subject.process.wait(10)
            except subprocess.TimeoutExpired:
                subject.process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
