"""The kmslab release, as saved snapshots and the HTTP endpoint name it (``kmslab.__version__``)."""

__version__ = "0.1.0"
