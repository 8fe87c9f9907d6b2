"""The only code in kmslab that touches ``cryptography``: backing keys and what they do."""
