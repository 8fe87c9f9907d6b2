"""The AWS CLI against ``kmslab serve``: create a key, encrypt a file, decrypt it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest

import kmslab
from kmslab.interop.server import ServerThread

from interop_fakes import ALICE_KEY_ID, ALICE_SECRET, FakeLab

AWS = shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")


def aws(url, *args, key_id="AKIAEXAMPLE", secret="example", cwd=None):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_MAX_ATTEMPTS": "1"}
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([AWS, "kms", *args, "--endpoint-url", url, "--region", "us-east-1",
                           "--output", "json"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    return done


def test_create_key_encrypt_and_decrypt_a_file(tmp_path):
    secret_file = tmp_path / "message.txt"
    secret_file.write_bytes(b"meet me at the usual place\n")
    with ServerThread(kmslab.Lab(seed=1), accept_any_signature=True) as url:
        created = aws(url, "create-key", "--description", "from the CLI")
        assert created.returncode == 0, created.stderr
        key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
        encrypted = aws(url, "encrypt", "--key-id", key_id, "--plaintext", "fileb://message.txt",
                        cwd=tmp_path)
        assert encrypted.returncode == 0, encrypted.stderr
        (tmp_path / "message.enc").write_bytes(
            base64.b64decode(json.loads(encrypted.stdout)["CiphertextBlob"]))
        decrypted = aws(url, "decrypt", "--ciphertext-blob", "fileb://message.enc", cwd=tmp_path)
        assert decrypted.returncode == 0, decrypted.stderr
        assert base64.b64decode(json.loads(decrypted.stdout)["Plaintext"]) == secret_file.read_bytes()


def test_cli_signatures_verify_and_wrong_ones_fail():
    with ServerThread(FakeLab()) as url:
        good = aws(url, "list-keys", key_id=ALICE_KEY_ID, secret=ALICE_SECRET)
        assert good.returncode == 0, good.stderr
        assert json.loads(good.stdout)["Keys"] == []
        bad = aws(url, "list-keys", key_id=ALICE_KEY_ID, secret="wrong")
        assert bad.returncode != 0
        assert "InvalidSignatureException" in bad.stderr
