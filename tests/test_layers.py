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
