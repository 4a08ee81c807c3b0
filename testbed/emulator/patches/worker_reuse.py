"""A handler exception keeps its Lambda worker warm, as AWS keeps the execution environment.

Upstream (`Worker.invoke`, MiniStack 1.5.33) stops the worker process after every error
response, so the next invocation pays a cold start (unzip, import jinja2 and requests:
~0.7 s here); a test of a retried or caught error paid it on every attempt. On AWS, the
Python runtime reports a handler's exception through the Runtime API and asks for the next
event in the same environment; only crashes and timeouts reset it.

Patched: an error the worker reports with an `errorType` (a handler exception, see
error_names) keeps the worker; every other error (init failure, a dead or silent worker)
still stops it, as upstream.
"""

from __future__ import annotations

from testbed.emulator.patches.source import patch_function_source

NAME = "worker-reuse"
UPSTREAM = {
    "ministack.core.lambda_runtime.Worker.invoke":
        "96751a75471021ecc05362bd28031305be50ff352345c5f7b1f9b7924a467b31",
}
OLD = 'if response.get("status") == "error":\n'
NEW = 'if response.get("status") == "error" and not response.get("errorType"):\n'


def apply() -> None:
    from ministack.core import lambda_runtime

    patch_function_source(lambda_runtime.Worker, "invoke", OLD, NEW, NAME)
