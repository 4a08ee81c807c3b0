"""The harness's one error model: every error a user can act on is a TestbedError.

Modelled on pip's PipError/DiagnosticPipError and chalice's ChaliceError: each module raises its
own subclass (StackError, SeedError, TemplateFileError, ...), whose message names the input, and
the two edges catch the base once: the CLI (`error: ...`, `hint: ...`, exit 1) and the watch
(reports it and keeps watching). Anything else is a bug, and is shown with its traceback.
The Lambda's own errors (generic_api_call.errors) are not TestbedErrors: where the harness meets
one it wraps it (`wrap`), naming what it was reading.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import BotoCoreError, ClientError


class TestbedError(Exception):
    """An error the user can fix. `message` says what is wrong and names the input; `hint`, when
    given, how to fix it; `context` holds what it was about (a file, a stack), for callers."""

    __test__ = False  # not a pytest test class, though its name starts with "Test"

    def __init__(self, message: str, *, context: Mapping[str, object] | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, object] = dict(context or {})
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        """What the CLI prints: the message, then the hint."""
        return [f"error: {self.message}", *([f"hint: {self.hint}"] if self.hint else [])]


class AwsCallFailed(TestbedError):
    """An AWS (emulator) API call failed in a way no harness module turned into its own error."""


class LambdaRuleRefused(TestbedError):
    """The Lambda's own code (generic_api_call) refused what the harness gave it."""


def wrap(exc: Exception, what: str) -> TestbedError:
    """A Lambda error met by the harness, as a user error naming `what` was being read."""
    return LambdaRuleRefused(f"{what}: {exc}", context={"error": type(exc).__name__})


def user_error(exc: BaseException) -> TestbedError | None:
    """The user error `exc` is, or None for a bug (which is shown with its traceback).

    An AWS call that failed (a refused request, an emulator that went away) is the user's to look
    at too: it says what AWS said. The one place both edges (CLI, watch) ask.
    """
    if isinstance(exc, TestbedError):
        return exc
    if isinstance(exc, ClientError | BotoCoreError):
        return AwsCallFailed(f"AWS call failed: {exc}")
    return None
