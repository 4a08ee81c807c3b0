"""The harness's one error model: a message, what it concerns, and how to fix it.

Every error a user should read (not a traceback) derives from `TestbedError`; the CLI and the
watch loop each catch it once (as pip's `PipError` and chalice's deployer errors are caught).
"""

from __future__ import annotations


class TestbedError(Exception):
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, message: str, *, context: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context
        self.hint = hint
