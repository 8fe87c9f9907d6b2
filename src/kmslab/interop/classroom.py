"""Classroom mode: one ``kmslab serve``, one AWS account per learner.

Each learner gets an account of their own (so cross-account exercises are
real: a key policy in one account names another), an IAM user ``learner``
whose identity policy allows every KMS action, and an access key. The keys
go into files in the AWS CLI's formats, one profile per learner
(``learner1``, ``learner2``...):

* ``credentials``: ``aws_access_key_id`` / ``aws_secret_access_key``;
* ``config``: ``region`` and ``endpoint_url`` (the server), so
  ``AWS_SHARED_CREDENTIALS_FILE=credentials AWS_CONFIG_FILE=config
  aws --profile learner2 kms list-keys`` needs no further option.

The files hold secrets: they are written readable by their owner only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Learner", "create_classroom", "write_profiles", "LEARNER_POLICY", "LEARNER_USER"]

LEARNER_USER = "learner"
#: the learner's identity policy: every KMS action in their account (key policies still decide)
LEARNER_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "KMSLearner", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}, indent=2)


@dataclass(frozen=True)
class Learner:
    """One learner's account and credentials (the secret never shows in repr)."""

    profile: str
    account_id: str
    user_arn: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = "us-east-1"

    def boto3_client(self, endpoint_url: str, **client_options):
        """A boto3 KMS client signing as this learner against ``endpoint_url``."""
        import boto3

        return boto3.session.Session().client(
            "kms", endpoint_url=endpoint_url, region_name=self.region,
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
            **client_options)


def create_classroom(lab, learners: int, *, region: str | None = None,
                     profile_prefix: str = "learner") -> list[Learner]:
    """Add ``learners`` accounts to ``lab``, each with a KMS user and an access key.

    Accounts are new lab accounts (ids from the lab's seed), named after the
    profile (``learner1``...); each has the IAM user ``learner`` with
    :data:`LEARNER_POLICY` and one access key. Returns the learners in order.
    """
    if learners < 1:
        raise ValueError("a classroom has at least one learner")
    region = region or lab.default_region
    out = []
    for number in range(1, learners + 1):
        profile = f"{profile_prefix}{number}"
        account = lab.add_account(name=profile)
        lab.kms_service(account, region)  # the learner's KMS exists from the start
        user = lab.add_user(LEARNER_USER, LEARNER_POLICY, account=account)
        iam = lab.client("iam", account=account)
        key = iam.create_access_key(UserName=user.name)["AccessKey"]
        out.append(Learner(profile, account, user.arn, key["AccessKeyId"],
                           key["SecretAccessKey"], region))
    return out


def write_profiles(learners: list[Learner], directory: str | os.PathLike, *,
                   endpoint_url: str | None = None) -> tuple[Path, Path]:
    """Write ``credentials`` and ``config`` (AWS CLI formats) into ``directory``.

    Returns (credentials path, config path). ``endpoint_url`` goes into each
    profile's config so SDKs and the CLI reach the server without options.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header = ["# kmslab classroom: one profile per learner, each in an account of its own"]
    if endpoint_url:
        header.append(f"# endpoint: {endpoint_url}")
    credentials = list(header)
    config = list(header)
    for learner in learners:
        credentials += ["", f"# account {learner.account_id}, {learner.user_arn}",
                        f"[{learner.profile}]",
                        f"aws_access_key_id = {learner.access_key_id}",
                        f"aws_secret_access_key = {learner.secret_access_key}"]
        config += ["", f"[profile {learner.profile}]", f"region = {learner.region}"]
        if endpoint_url:
            config.append(f"endpoint_url = {endpoint_url}")
    paths = directory / "credentials", directory / "config"
    for path, lines in zip(paths, (credentials, config), strict=True):
        _write_private(path, "\n".join(lines) + "\n")
    return paths


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # also when the file existed with wider permissions
