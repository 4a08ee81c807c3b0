"""BACKEND=aws runs of the suite (docs/aws.md): the integration tests run on the stack that
`BACKEND=aws make up` deployed, and those that need what AWS has not are skipped, each with its
reason. A test says what it needs with a marker (pyproject.toml lists them); a marker's own
`reason=` says more where the general one is not enough. The other backends ignore the markers.
"""

from __future__ import annotations

from typing import Any

import pytest

from testbed.config import Config
from testbed.deploy.report import SeedReport
from testbed.stacks.aws_stack import AwsStack

SKIPPED_ON_AWS = {
    "needs_mockapi": "programs or reads the mock API (stubs, journal); on AWS the Lambda calls the test API "
                     "of TESTBED_AWS_API_BASE_URL",
    "needs_faults": "injects faults (the mock API's fault stubs, the emulator's Step Functions mock test cases), "
                    "which AWS has not",
    "emulator_only": "inspects or drives the emulator's internals",
}


def skip_reason(item: Any) -> str | None:
    """Why an aws run skips `item` (its first marker of SKIPPED_ON_AWS), or None: it runs."""
    for name, general in SKIPPED_ON_AWS.items():
        marker = item.get_closest_marker(name)
        if marker is not None:
            return f"BACKEND=aws: {name}: {marker.kwargs.get('reason') or general}"
    return None


def deployed_stack(config: Config) -> tuple[AwsStack, SeedReport]:
    """The stack `BACKEND=aws make up` deployed and recorded in the state folder."""
    stack = AwsStack(config)
    record = stack.record()
    if record is None or not stack.is_running():
        pytest.fail(f"BACKEND=aws: no deployed stack is recorded in {stack.record_file}: "
                    "run `BACKEND=aws make up` first (docs/aws.md)")
    return stack, SeedReport(state_machine_arn=record.state_machine_arn)
