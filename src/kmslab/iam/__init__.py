"""The lab's IAM and STS: users, roles, inline identity policies, access keys, AssumeRole.

Only what KMS authorization needs, in IAM's own shapes: principals with ARNs
and unique ids (``AIDA...`` users, ``AROA...`` roles), inline policies
(PutUserPolicy / PutRolePolicy), trust policies on roles, access keys
(``AKIA...``) and temporary credentials from STS AssumeRole (``ASIA...``).
``lab.client("iam")`` and ``lab.client("sts")`` are boto3-shaped clients over it.
"""

from .clients import IAMClient, STSClient
from .model import ADMINISTRATOR_ACCESS, IAM, AccessKey, IAMRole, IAMUser

__all__ = ["IAM", "IAMUser", "IAMRole", "AccessKey", "IAMClient", "STSClient",
           "ADMINISTRATOR_ACCESS"]
