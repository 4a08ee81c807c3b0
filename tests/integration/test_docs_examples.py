"""The README's Python example runs as printed, against a real stack (only its endpoint and ARN
are swapped for the test stack's): a stale signature in the front door fails here."""

from __future__ import annotations

import contextlib
import io

import pytest

from tests.support import Testbed as Bed
from tests.unit.test_docs_commands import PAGES, blocks

README = PAGES[0]
PRINTED_ENDPOINT = "http://127.0.0.1:4566"
PRINTED_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:ApiCallStateMachine"


@pytest.mark.needs_mockapi  # the example calls get_status: the mock API's /status route
def test_the_readme_python_example_runs(testbed: Bed) -> None:
    (example,) = list(blocks(README, {"python"}))
    assert PRINTED_ENDPOINT in example and PRINTED_ARN in example, "the example's endpoint or ARN changed"
    code = example.replace(PRINTED_ENDPOINT, testbed.stack.endpoints.aws).replace(
        PRINTED_ARN, testbed.state_machine_arn)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"{README.name} (python block)", "exec"), {})
    status = printed.getvalue().split()[0]
    assert status in ("SUCCEEDED", "FAILED"), printed.getvalue()
