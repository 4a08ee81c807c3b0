"""The MiniStack launcher's fix of Lambda error names (see testbed/emulator.py)."""

from testbed.emulator import _with_error_class, exception_class_from_log

TRACE = """START
Traceback (most recent call last):
  File "/var/task/generic_api_call/handler.py", line 3, in lambda_handler
    raise RenderError("url: missing param 'id'")
generic_api_call.errors.RenderError: url: missing param 'id'
"""


def test_class_name_from_traceback():
    assert exception_class_from_log(TRACE) == "RenderError"
    assert exception_class_from_log("Traceback (most recent call last):\n  File x\nKeyError\n") == "KeyError"
    assert exception_class_from_log("no traceback here") is None


def test_wrapper_replaces_only_the_generic_name():
    def execute(error_type: str):
        return {"error": True, "body": {"errorType": error_type, "errorMessage": "m"}, "log": TRACE}

    wrapped = _with_error_class(execute)
    assert wrapped("Runtime.HandlerError")["body"]["errorType"] == "RenderError"
    assert wrapped("Sandbox.Timedout")["body"]["errorType"] == "Sandbox.Timedout"
    assert _with_error_class(lambda: {"body": {"ok": 1}})() == {"body": {"ok": 1}}
