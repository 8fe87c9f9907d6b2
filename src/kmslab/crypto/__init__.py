"""The only code in kmslab that touches ``cryptography``: backing keys and what they do."""

#: The token that lets the lab snapshot code export key material (and nothing else may).
SNAPSHOT_EXPORT = object()
