"""DESIGN.md's layering: only crypto/ touches ``cryptography`` (plus the client-side envelope/,
which must work against real AWS KMS, and pki.py, which builds X.509 certificates for learners)."""

import ast
import pathlib

import kmslab

ROOT = pathlib.Path(kmslab.__file__).parent
ALLOWED = ("crypto/", "envelope/", "pki.py")


def _imports_cryptography(path: pathlib.Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "cryptography" or name.startswith("cryptography.") for name in names):
            return True
    return False


def test_only_the_crypto_layer_imports_cryptography():
    offenders = [path.relative_to(ROOT).as_posix() for path in sorted(ROOT.rglob("*.py"))
                 if _imports_cryptography(path)]
    assert offenders, "the crypto layer itself must show up (the check would be blind otherwise)"
    assert [p for p in offenders if not p.startswith(ALLOWED)] == []


def _modules_after(code: str) -> set[str]:
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT.parent), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return set(out.split())


HEAVY = ("matplotlib", "pandas", "numpy", "ipywidgets", "IPython")


def test_import_kmslab_and_a_first_encrypt_load_no_plotting_or_dataframes():
    loaded = _modules_after(
        "import kmslab\nlab = kmslab.Lab(seed=1)\nkms = lab.client()\n"
        "k = kms.create_key()['KeyMetadata']['KeyId']\nkms.encrypt(KeyId=k, Plaintext=b'x')\n"
        "lab.clock.advance(days=1)\nimport kmslab.latency, kmslab.faults")
    assert "kmslab.lab" in loaded and "kmslab.latency.model" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_a_plot_loads_matplotlib_on_first_use():
    loaded = _modules_after("from kmslab import latency\nlatency.plot_rtt_effect")
    assert "matplotlib" in loaded and "kmslab.latency.plots" in loaded
