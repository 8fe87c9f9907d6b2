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
frames, ``lab.add_user``, widgets on the lab) has no AWS counterpart. Such a
cell guards itself with :func:`requires_lab` (a block) or :func:`lab_only` (a
function), which print one line saying what is skipped and, where there is
one, what AWS offers instead::

    if kmslab.requires_lab(kms, "moves the lab's clock 7 days",
                           aws="the key is deleted 7 days after ScheduleKeyDeletion"):
        lab.clock.advance(days=7)

``connect(..., tutorial="01_getting_started")`` tags every key the client
creates against AWS with ``kmslab-tutorial=01_getting_started`` and remembers
its keys and aliases, so that :func:`kmslab.interop.cleanup.clean_up` can
schedule their deletion (7 days, the minimum) and delete the aliases at the
end of the notebook.
"""

from __future__ import annotations

import functools
import os
import warnings
from datetime import UTC, datetime

__all__ = ["connect", "requires_lab", "lab_only", "lab_of", "now", "skip_line", "SkipNote",
           "BACKENDS", "BACKEND_ENV", "ENDPOINT_ENV", "SKIP_PREFIX"]

BACKEND_ENV = "KMSLAB_BACKEND"
ENDPOINT_ENV = "KMSLAB_ENDPOINT_URL"
BACKENDS = ("kmslab", "botocore", "aws")
#: how every skipped cell's line starts
SKIP_PREFIX = "skipped: needs the kmslab lab"


def connect(region_name: str | None = None, *, lab=None, as_=None,
            endpoint_url: str | None = None, backend: str | None = None,
            tutorial: str | None = None):
    """A KMS client: kmslab's by default, boto3's real ``kms`` client when configured.

    ``backend``: ``"kmslab"`` (``lab.client()``), ``"botocore"`` (a genuine
    botocore client served in-process by the lab) or ``"aws"`` (``boto3.client
    ("kms")``); default: ``$KMSLAB_BACKEND``, else ``"kmslab"``, or ``"aws"`` when
    an endpoint is set. ``endpoint_url`` (default ``$KMSLAB_ENDPOINT_URL``)
    points the ``aws`` client at another KMS endpoint, such as ``kmslab serve``;
    a lab backend asked for by the argument ignores ``$KMSLAB_ENDPOINT_URL``.
    ``region_name``: the client's Region (default: the lab's, or boto3's
    configured one). ``lab``: the lab for the lab backends (default: kmslab's
    default lab). ``as_``: who the lab clients act as; against AWS the
    credentials decide, so ``as_`` is ignored with a warning. ``tutorial``:
    against AWS (or another endpoint), tag the keys this client creates with
    ``kmslab-tutorial=<tutorial>`` and remember them and its aliases for
    :func:`~kmslab.interop.cleanup.clean_up`; a lab's client ignores it.

    >>> kms = connect(lab=kmslab.Lab(seed=1))              # doctest: +SKIP
    >>> kms = connect(backend="aws", region_name="eu-west-1")  # doctest: +SKIP
    """
    env_endpoint = os.environ.get(ENDPOINT_ENV) or None
    chosen = (backend or os.environ.get(BACKEND_ENV)
              or ("aws" if endpoint_url or env_endpoint else "kmslab"))
    chosen = chosen.strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"unknown KMS backend {chosen!r}: use one of {', '.join(BACKENDS)} "
                         f"(argument backend= or ${BACKEND_ENV})")
    if chosen == "aws":
        if as_ is not None:
            warnings.warn("as_ is ignored against AWS: the client acts as its credentials",
                          stacklevel=2)
        import boto3

        endpoint_url = endpoint_url or env_endpoint
        client = boto3.client("kms", region_name=region_name, endpoint_url=endpoint_url)
        if tutorial:
            from .cleanup import track

            track(client, tutorial, endpoint_url=endpoint_url)
        return client
    if endpoint_url:
        raise ValueError(f"endpoint_url needs backend 'aws' (the {chosen!r} backend is in-process)")
    if lab is None:
        from ..lab import default_lab

        lab = default_lab()
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


def skip_line(what: str = "", aws: str = "") -> str:
    """The line a cell prints when it skips what needs the lab: what it skips, what AWS offers.

    >>> skip_line("the audit trail", aws="CloudTrail's LookupEvents")
    "skipped: needs the kmslab lab (the audit trail). On AWS: CloudTrail's LookupEvents."
    """
    line = SKIP_PREFIX + (f" ({what})" if what else "")
    if aws:
        line += f". On AWS: {aws.rstrip('.')}."
    return line


def requires_lab(client, what: str = "", *, aws: str = "") -> bool:
    """True when ``client`` is served by a kmslab lab; otherwise prints why a block is skipped.

    ``what``: what the block needs the lab for; ``aws``: what to do on AWS
    instead, when there is something (CloudTrail instead of the audit trail,
    waiting instead of moving the clock). Tutorials start lab-only blocks with::

        if kmslab.requires_lab(kms, "moves the lab's clock 7 days",
                               aws="the key is deleted 7 days after ScheduleKeyDeletion"):
            lab.clock.advance(days=7)

    which prints ``skipped: needs the kmslab lab (moves the lab's clock 7 days).
    On AWS: the key is deleted 7 days after ScheduleKeyDeletion.`` against AWS
    (in a notebook, a :class:`SkipNote` shows the same as a muted note).
    """
    if lab_of(client) is not None:
        return True
    show(SkipNote(what, aws))
    return False


class SkipNote:
    """What a skipped block shows: :func:`skip_line` as text, a muted note in a notebook."""

    def __init__(self, what: str = "", aws: str = ""):
        self.what, self.aws = what, aws

    def __repr__(self) -> str:
        return skip_line(self.what, self.aws)

    def _repr_html_(self) -> str:
        from html import escape

        why = f" ({escape(self.what)})" if self.what else ""
        instead = (f"<br><i>On AWS:</i> {escape(self.aws.rstrip('.'))}." if self.aws else "")
        return ("<div class='kmslab-skipped' style='border-left:4px solid #8c959f;"
                "background:#f6f8fa;color:#57606a;padding:4px 10px;white-space:normal'>"
                f"<b>Skipped:</b> needs the kmslab lab{why}.{instead}</div>")


def show(note) -> None:
    """In a notebook, display ``note`` (its text and its HTML); elsewhere, print its text."""
    import sys

    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display(note)
    else:
        print(note)


def lab_only(client, what: str = "", *, aws: str = ""):
    """Decorator: the function runs when ``client`` is a lab's, else prints the skip line.

    Against AWS the decorated function prints what :func:`requires_lab` prints
    and returns None (so a notebook shows nothing more), whatever its
    arguments::

        @kmslab.lab_only(kms, "the check reads the lab's audit trail",
                         aws="look the calls up with CloudTrail's LookupEvents")
        @checker(hint="...")
        def check_exercise(...):
            ...
    """
    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            if not requires_lab(client, what, aws=aws):
                return None
            return function(*args, **kwargs)
        return run
    return decorate


def now(client) -> datetime:
    """The time at the KMS behind ``client``: the lab's clock, or the real time (UTC) elsewhere.

    For dates a request carries or a check compares with (an imported key's
    ``ValidTo``, a certificate's validity): ``kmslab.now(kms) + timedelta(days=30)``.
    """
    lab = lab_of(client)
    if lab is not None:
        return lab.clock.now()
    return datetime.now(UTC)
