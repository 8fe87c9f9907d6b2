"""kmslab: a faithful AWS KMS inside a Python process, for learning and teaching."""

__version__ = "0.1.0"
