"""One line that picks the KMS a script talks to: the lab, or real AWS KMS.

    kms = kmslab.connect(lab=lab)        # kmslab's client (default)
    KMSLAB_BACKEND=aws jupyter lab       # the same notebooks, against AWS KMS

What the backends are:

============  =================================================================
``kmslab``    ``lab.client()``: the lab's boto3-shaped client (the default)
``botocore``  :func:`kmslab.boto3_client`: a genuine botocore client, served
              in-process by the lab
``aws``       ``boto3.client("kms")``: real AWS KMS with boto3's usual
              credentials and Region (environment, ``~/.aws``, roles), or any
              KMS endpoint given by ``endpoint_url`` / ``KMSLAB_ENDPOINT_URL``
              (a running ``kmslab serve``, say)
============  =================================================================

The argument wins over the environment variable ``KMSLAB_BACKEND``; an
endpoint URL alone selects ``aws``. Only API calls travel to AWS: whatever a
cell does with the lab itself (the virtual clock, ``lab.explain``, the audit
frames, ``lab.add_user``, widgets) has no AWS counterpart, and such cells
guard themselves with :func:`requires_lab`.
"""

from __future__ import annotations

import os
import warnings

__all__ = ["connect", "requires_lab", "lab_of", "BACKENDS", "BACKEND_ENV", "ENDPOINT_ENV"]

BACKEND_ENV = "KMSLAB_BACKEND"
ENDPOINT_ENV = "KMSLAB_ENDPOINT_URL"
BACKENDS = ("kmslab", "botocore", "aws")


def connect(region_name: str | None = None, *, lab=None, as_=None,
            endpoint_url: str | None = None, backend: str | None = None):
    """A KMS client: kmslab's by default, boto3's real ``kms`` client when configured.

    ``backend``: ``"kmslab"`` (``lab.client()``), ``"botocore"`` (a genuine
    botocore client served in-process by the lab) or ``"aws"`` (``boto3.client
    ("kms")``); default: ``$KMSLAB_BACKEND``, else ``"kmslab"``, or ``"aws"`` when
    an endpoint is set. ``endpoint_url`` (default ``$KMSLAB_ENDPOINT_URL``)
    points the ``aws`` client at another KMS endpoint, such as ``kmslab serve``.
    ``region_name``: the client's Region (default: the lab's, or boto3's
    configured one). ``lab``: the lab for the lab backends (default: kmslab's
    default lab). ``as_``: who the lab clients act as; against AWS the
    credentials decide, so ``as_`` is ignored with a warning.

    >>> kms = connect(lab=kmslab.Lab(seed=1))              # doctest: +SKIP
    >>> kms = connect(backend="aws", region_name="eu-west-1")  # doctest: +SKIP
    """
    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
    chosen = (backend or os.environ.get(BACKEND_ENV) or ("aws" if endpoint_url else "kmslab"))
    chosen = chosen.strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"unknown KMS backend {chosen!r}: use one of {', '.join(BACKENDS)} "
                         f"(argument backend= or ${BACKEND_ENV})")
    if chosen == "aws":
        if as_ is not None:
            warnings.warn("as_ is ignored against AWS: the client acts as its credentials",
                          stacklevel=2)
        import boto3

        return boto3.client("kms", region_name=region_name, endpoint_url=endpoint_url)
    if endpoint_url:
        raise ValueError(f"endpoint_url needs backend 'aws' (the {chosen!r} backend is in-process)")
    if lab is None:
        import kmslab

        lab = kmslab.default_lab()
    if chosen == "botocore":
        from .boto3_adapter import boto3_client

        return boto3_client(lab, region_name or lab.default_region, as_)
    return lab.client(region_name=region_name, as_=as_)


def lab_of(client):
    """The lab behind a client from :func:`connect`, or None for a client of AWS (or another endpoint)."""
    lab = getattr(client, "lab", None)  # kmslab's own client
    if lab is not None:
        return lab
    from .boto3_adapter import served_lab

    return served_lab(client)


def requires_lab(client, what: str = "") -> bool:
    """True when ``client`` is served by a kmslab lab; otherwise prints why a cell is skipped.

    Tutorials start lab-only cells (the virtual clock, explanations, audit
    frames, IAM set-up through ``lab``) with::

        if kmslab.requires_lab(kms, "moves the virtual clock"):
            lab.clock.advance(days=7)
    """
    if lab_of(client) is not None:
        return True
    print(f"skipped: needs the kmslab lab{f' ({what})' if what else ''}")
    return False
