"""``kmslab demo`` runs headless and tells the story of a key."""

import subprocess
import sys

from kmslab.cli import main


def test_demo_prints_the_walkthrough(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for text in ("CreateKey", "Encrypt", "Decrypt", "CreateAlias", "DisabledException",
                 "PendingDeletion", "NotFoundException", "DeleteKey"):
        assert text in out


def test_the_demo_says_kms_itself_deleted_the_key(capsys):
    main(["demo"])
    lines = capsys.readouterr().out.splitlines()
    deletions = [line for line in lines if "DeleteKey" in line]
    assert deletions == ["  1  DeleteKey (made by KMS itself, when the 7-day waiting period ended)"]
    assert not any("made by KMS" in line for line in lines if "ScheduleKeyDeletion" in line)


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "kmslab", "demo"], capture_output=True, text=True)
    assert result.returncode == 0 and "the key is gone" in result.stdout
