"""The authorization seam of the pipeline (step 3).

``Authorizer`` is what the pipeline asks before every operation. The lab
installs the policy-evaluating authorizer; ``OpenAuthorizer`` allows
everything and only checks that key policies are JSON documents (useful to
isolate a lesson from permissions).
"""

from __future__ import annotations

import json
from typing import Any

from .. import errors

__all__ = ["OpenAuthorizer"]


class OpenAuthorizer:
    """Allows every request; validates key policies as JSON objects only."""

    def authorize(self, call, key, action: str, conditions: dict[str, Any]) -> None:
        return None

    def check_key_policy(self, call, text: str, key_arn: str, bypass_lockout: bool):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise errors.MalformedPolicyDocumentException(
                f"The new key policy is not a valid JSON document: {exc}") from None
        if not isinstance(doc, dict) or "Statement" not in doc:
            raise errors.MalformedPolicyDocumentException(
                "The new key policy must be a JSON object with a Statement element.")
        return doc
