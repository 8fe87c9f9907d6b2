"""Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, and the default key policy."""

from __future__ import annotations

from .. import errors
from ..policy import default_key_policy  # noqa: F401  (GetKeyPolicy's exact AWS layout)
from .pipeline import Call
from .registry import operation

POLICY_NAME = "default"
MAX_POLICY_BYTES = 32 * 1024


def check_policy(call: Call, text: str, key_arn: str, bypass_lockout: bool | None):
    """Validate a key policy (size, grammar, principals, lockout) and return it parsed."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise errors.LimitExceededException(
            f"The key policy size exceeds the limit of {MAX_POLICY_BYTES} bytes.")
    return call.env.authorizer.check_key_policy(call, text, key_arn, bool(bypass_lockout))


def policy_for_new_key(call: Call, params: dict, account: str, key_arn: str):
    """A new key's policy (CreateKey, ReplicateKey): ``(text, parsed)``.

    The request's ``Policy``, validated as PutKeyPolicy does, else the default
    key policy of ``account`` (``parsed`` is then None).
    """
    text = params.get("Policy")
    if text is None:
        return default_key_policy(account), None
    return text, check_policy(call, text, key_arn, params.get("BypassPolicyLockoutSafetyCheck"))


def _get_policy_name(params: dict) -> str:
    """GetKeyPolicy: ``default``; a key shared through RAM would also have ``AWS_RAM``, which
    a lab's keys never have (NotFoundException, as for any other name)."""
    name = params.get("PolicyName") or POLICY_NAME
    if name != POLICY_NAME:
        raise errors.NotFoundException(f"No such policy exists: {name}")
    return name


def _check_put_policy_name(call: Call, params: dict) -> None:
    """PutKeyPolicy sets only the ``default`` key policy: "If you specify AWS_RAM, the request
    fails with a ValidationException" (API Reference, PutKeyPolicy PolicyName)."""
    name = params.get("PolicyName") or POLICY_NAME
    if name != POLICY_NAME:
        raise errors.ValidationException(
            f"PolicyName {name} is not valid for PutKeyPolicy: you can set only the default "
            f"key policy (RAM manages the AWS_RAM key policy of keys shared through RAM).")


@operation("GetKeyPolicy")
def get_key_policy(call: Call, params: dict) -> dict:
    """GetKeyPolicy: the key policy document, as it was stored."""
    name = _get_policy_name(params)
    return {"Policy": call.key.policy, "PolicyName": name}


@operation("PutKeyPolicy", check=_check_put_policy_name)
def put_key_policy(call: Call, params: dict) -> dict:
    """PutKeyPolicy: replace the key policy (validated; lockout safety check)."""
    key = call.key
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(
            f"{key.arn} is an AWS managed key; its key policy cannot be changed.")
    doc = check_policy(call, params["Policy"], key.arn, params.get("BypassPolicyLockoutSafetyCheck"))
    key.policy_doc = doc
    key.policy = params["Policy"]  # the record moves its revision: cached decisions are dropped
    return {}


@operation("ListKeyPolicies")
def list_key_policies(call: Call, params: dict) -> dict:
    """ListKeyPolicies: always the one policy named ``default``."""
    return {"PolicyNames": [POLICY_NAME], "Truncated": False}
