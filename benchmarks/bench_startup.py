"""Startup: ``import kmslab`` against loading botocore's KMS model, in fresh interpreters.

Run: PYTHONPATH=src python benchmarks/bench_startup.py [rounds]
Every sample is a new ``python -c ...`` process (nothing cached in memory; the OS file
cache is warm after the first round). Each round runs an empty interpreter, the reference
and kmslab one after the other, so load hits all three alike; a sample's cost is its wall
time minus the same round's empty interpreter. The reference is what kmslab needs anyway:
``botocore.session.get_session().get_service_model("kms")``. Inside the kmslab process,
``Lab()`` plus a first CreateKey and Encrypt are timed after the import. Targets: import
within 2x the reference; Lab() plus the first Encrypt under 0.2 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

EMPTY = "pass"
REFERENCE = "import botocore.session; botocore.session.get_session().get_service_model('kms')"
SUBJECT = """
import time
t0 = time.perf_counter()
import kmslab
t1 = time.perf_counter()
lab = kmslab.Lab()
kms = lab.client()
key_id = kms.create_key()["KeyMetadata"]["KeyId"]
kms.encrypt(KeyId=key_id, Plaintext=b"hello")
t2 = time.perf_counter()
import sys
heavy = [m for m in ("matplotlib", "pandas", "ipywidgets", "numpy") if m in sys.modules]
print(t1 - t0, t2 - t1, ",".join(heavy))
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(ROOT, "src"),
                                                      env.get("PYTHONPATH")]))
    return env


def _run(code: str, env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - t0, out


def main(rounds: int = 15) -> None:
    env = _env()
    for code in (EMPTY, REFERENCE, SUBJECT):    # warm the file cache and .pyc files
        _run(code, env)
    reference, subject, ratios, lab_first_encrypt, in_process = [], [], [], [], []
    heavy = ""
    for _ in range(rounds):
        empty, _ = _run(EMPTY, env)
        ref, _ = _run(REFERENCE, env)
        sub, out = _run(SUBJECT, env)
        import_s, lab_s, heavy = out.split(" ")
        reference.append(ref - empty)
        subject.append(sub - empty)
        ratios.append((sub - empty) / (ref - empty))
        in_process.append(float(import_s))
        lab_first_encrypt.append(float(lab_s))
    med = statistics.median
    print(f"{rounds} rounds of fresh interpreters, each minus an empty interpreter's start")
    print(f"botocore KMS model   {med(reference) * 1e3:8.1f} ms   (reference)")
    print(f"import kmslab        {med(subject) * 1e3:8.1f} ms   x{med(ratios):.2f} reference"
          f"   (target: x2 or less); {med(in_process) * 1e3:.1f} ms measured inside")
    print(f"Lab() + first Encrypt {med(lab_first_encrypt) * 1e3:7.1f} ms   (target: under 200 ms)")
    print(f"heavy modules loaded by import + first Encrypt: {heavy.strip() or 'none'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
