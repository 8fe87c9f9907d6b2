"""Self-checks for the tutorials' exercises: one result type, one display, in every notebook.

An exercise ships unsolved: the learner's cell holds a placeholder (``...``)
and its check says "Not yet" with a hint. A check is a function decorated
with :func:`checker`; it returns :func:`correct` or :func:`not_yet`::

    from kmslab.exercise import checker, correct, not_yet

    @checker(hint="use the same encryption context on both sides")
    def check_exercise(answer):
        out = kms.decrypt(CiphertextBlob=answer, EncryptionContext={"dept": "hr"})
        if out["Plaintext"] != b"salary=1000":
            return not_yet("the ciphertext holds another plaintext")
        return correct("the payroll key decrypts it")

    answer = ...                # your answer
    check_exercise(answer)      # Not yet: replace ... with your answer. Hint: use the same ...

An answer still ``...`` is not checked at all, and an exception raised while
checking (an AWS error, a TypeError) is a "Not yet" that names it, never a
traceback.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CheckResult", "checker", "correct", "not_yet"]


@dataclass(frozen=True)
class CheckResult:
    """What a self-check found: passed or not, what it saw, and a hint when it did not pass."""

    passed: bool
    message: str = ""
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return " ".join(filter(None, ["Correct!", self.message]))
        text = f"Not yet: {self.message}" if self.message else "Not yet."
        return f"{text} Hint: {self.hint}" if self.hint else text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if self.passed:
            head, color, background = "Correct!", "#1a7f37", "#eaf7ee"
            body = html.escape(self.message)
        else:
            head, color, background = "Not yet:", "#9a6700", "#fff8e5"
            body = html.escape(self.message)
            if self.hint:
                body += f"<br><i>Hint: {html.escape(self.hint)}</i>"
        return (f"<div class='kmslab-check' style='border-left:4px solid {color};"
                f"background:{background};padding:4px 10px;white-space:normal'>"
                f"<b style='color:{color}'>{head}</b> {body}</div>")


def correct(message: str = "") -> CheckResult:
    """The answer passes; ``message`` says what the check saw."""
    return CheckResult(True, message)


def not_yet(message: str, hint: str = "") -> CheckResult:
    """The answer does not pass yet; the checker adds its hint when none is given here."""
    return CheckResult(False, message, hint)


def _describe(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        err = response["Error"]
        return f"checking it raised {err['Code']}: {err.get('Message', '')}".rstrip(": ")
    return f"checking it raised {type(error).__name__}: {error}".rstrip(": ")


def checker(*, hint: str) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Make a self-check from a function returning :func:`correct` or :func:`not_yet`.

    The decorated check returns a :class:`CheckResult` every time: arguments
    still ``...`` give "replace ... with your answer", an exception gives a
    "Not yet" naming it, and every "Not yet" carries ``hint``.
    """
    def decorate(check: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        @functools.wraps(check)
        def run(*args, **kwargs) -> CheckResult:
            if any(value is Ellipsis for value in (*args, *kwargs.values())):
                return CheckResult(False, "replace ... with your answer.", hint)
            try:
                result = check(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - a learner's answer may fail any way
                return CheckResult(False, _describe(error) + ".", hint)
            if not isinstance(result, CheckResult):
                raise TypeError(f"{check.__name__} must return correct(...) or not_yet(...), "
                                f"not {result!r}")
            return result if result.passed or result.hint else not_yet(result.message, hint)
        return run
    return decorate
