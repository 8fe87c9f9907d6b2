"""Key policies, IAM policies and grants: parse, validate, evaluate, explain.

The authorization engine of kmslab, knowing nothing of the service: the
service builds a :class:`RequestContext` for each request and asks
:func:`decide`, which answers with a :class:`Decision` that can say why.

>>> from kmslab.identity import account_root
>>> policy = parse_policy(default_key_policy("111122223333"))
>>> ctx = RequestContext("kms:Encrypt", account_root("111122223333"),
...                      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
>>> decide(ctx, key_policy=policy, identity_policies=()).allowed
True
"""

from .conditions import OPERATORS, Condition
from .decision import (
    EC_GRANT_OPERATIONS,
    LOCKOUT_MESSAGE,
    Decision,
    GrantLike,
    GrantResult,
    decide,
    would_lock_out,
)
from .defaults import (
    KEY_ADMINISTRATOR_ACTIONS,
    KEY_USER_ACTIONS,
    aws_json,
    console_key_policy,
    default_key_policy,
    key_administrators_statement,
    key_users_statement,
    persistent_resources_statement,
    root_statement,
)
from .document import INVALID_PRINCIPALS, KEY_POLICY_MAX_BYTES, Policy, Statement, parse_policy
from .evaluate import RequestContext, StatementResult, evaluate_statement
from .global_keys import principal_keys, request_keys

__all__ = [
    "parse_policy", "Policy", "Statement", "Condition", "OPERATORS", "KEY_POLICY_MAX_BYTES",
    "INVALID_PRINCIPALS", "RequestContext", "StatementResult", "evaluate_statement",
    "decide", "Decision", "GrantLike", "GrantResult", "would_lock_out", "LOCKOUT_MESSAGE",
    "EC_GRANT_OPERATIONS", "default_key_policy", "console_key_policy", "aws_json",
    "root_statement", "key_administrators_statement", "key_users_statement",
    "persistent_resources_statement", "KEY_ADMINISTRATOR_ACTIONS", "KEY_USER_ACTIONS",
    "principal_keys", "request_keys",
]
