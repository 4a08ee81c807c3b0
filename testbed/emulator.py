"""Start MiniStack, with one fidelity fix: Lambda error names.

On AWS, an exception raised by a Python handler is reported with `errorType` = the
exception's class name, and Step Functions matches `Retry`/`Catch` on it. MiniStack
1.5.33 reports every Python handler exception as `Runtime.HandlerError`, which would
make the state machine's Retry on `UpstreamTimeout` etc. untestable. Its worker does
record the traceback, whose last line starts with the class name; this launcher wraps
the warm-worker executor to put that name back into `errorType`.

Used by the embedded stack and the MiniStack image alike (`python -m testbed.emulator`).
The integration test `test_lambda_error_name_is_exception_class` fails if this stops working.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# The final line of a Python traceback: "package.module.ClassName: message" or "ClassName".
_EXCEPTION_LINE = re.compile(r"^(?P<qualname>[A-Za-z_][\w.]*)(?::\s|$)")
_GENERIC = "Runtime.HandlerError"


def exception_class_from_log(log: str) -> str | None:
    """The class name of the last exception in a log holding a Python traceback."""
    marker = log.rfind("Traceback (most recent call last):")
    if marker < 0:
        return None
    for line in reversed(log[marker:].splitlines()):
        match = _EXCEPTION_LINE.match(line)
        if match and not line.startswith((" ", "\t")):
            return match["qualname"].rsplit(".", 1)[-1]
    return None


def _with_error_class(execute: Any) -> Any:
    @functools.wraps(execute)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = execute(*args, **kwargs)
        body = result.get("body") if isinstance(result, dict) and result.get("error") else None
        if isinstance(body, dict) and body.get("errorType") == _GENERIC:
            name = exception_class_from_log(str(result.get("log", "")))
            if name:
                body["errorType"] = name
        return result

    return wrapper


def apply_fidelity_patches() -> None:
    from ministack.services import lambda_svc

    if not getattr(lambda_svc._execute_function_warm, "__wrapped__", None):
        lambda_svc._execute_function_warm = _with_error_class(lambda_svc._execute_function_warm)
    __import__("testbed.lambda_isolation").lambda_isolation.apply()  # Lambdas import their bundle only


def main() -> int:
    apply_fidelity_patches()
    from ministack.app import main as ministack_main

    ministack_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
