"""The repository names no path of one machine: no home or work folder, no virtual environment
of someone's, in code, docs, notebooks (outputs included) or configuration."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# written in two parts so that this file does not match itself
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:ho" r"me/\w|ro" r"ot/|wo" r"rk/|Us" r"ers/\w)"
                          r"|\b[A-Z]:\\\\?Us" r"ers\\|/venv-\w")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def test_no_tracked_file_names_a_path_of_one_machine():
    found = []
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue  # binary files
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "machine-specific paths:\n" + "\n".join(found)


@pytest.mark.parametrize("line", ["Run: /ho" "me/ann/venv/bin/python x.py", "cd /wo" "rk/main",
                                  "/ro" "ot/.cache/x", "/opt/venv-" "lint/bin/python"])
def test_the_check_sees_such_paths(line):
    assert MACHINE_PATH.search(line)


@pytest.mark.parametrize("line", ["python -m venv .venv", "/tmp/socket", "/usr/bin/chromium",
                                  "https://example.com/home/page", "~/.aws/credentials"])
def test_ordinary_paths_pass(line):
    assert not MACHINE_PATH.search(line)
