"""The backend interface: a stack is endpoints plus start, stop and seed.

`embedded` runs the emulator and the mock API as local processes (no Docker);
`docker` runs them with Docker Compose. Tests and the CLI only use this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from testbed import aws, settings
from testbed.config import LOCALHOST, Config
from testbed.deploy.report import SeedReport
from testbed.errors import TestbedError


class StackError(TestbedError):
    """A stack could not be started or stopped; the message says what to do."""


@dataclass(frozen=True)
class Endpoints:
    aws: str  # the AWS emulator, from this machine
    mockapi: str  # the mock API, from this machine
    mockapi_for_lambda: str  # the mock API, as the Lambda reaches it


class Stack(ABC):
    name: str
    config: Config  # set by each backend's __init__
    # The stack runs our mock API, whose journal shows what the Lambda sent (not so on AWS).
    has_mock_api: bool = True

    @property
    def target(self) -> aws.Target:
        """The stack's emulator as an AWS client target."""
        return aws.Target(self.endpoints.aws, self.config.region, self.config.has_credentials)

    @property
    @abstractmethod
    def endpoints(self) -> Endpoints: ...

    @abstractmethod
    def start(self) -> None:
        """Start (or find already running) and wait until every service answers."""

    @abstractmethod
    def stop(self) -> None: ...

    def stop_notes(self) -> list[str]:
        """What the last `stop` left for the user to know (the aws backend: what it retained)."""
        return []

    @abstractmethod
    def is_running(self) -> bool: ...

    def service_states(self) -> dict[str, str]:
        """Each service's state ("running", "stopped", "exited", ...): `status` reports a half-up stack."""
        return {"stack": "running" if self.is_running() else "stopped"}

    @abstractmethod
    def emulator_logs(self) -> str:
        """The AWS emulator's own output (for diagnostics, and for leak checks in tests)."""

    def local_server_host(self) -> str:
        """The address on this machine a server must listen on for the stack's mock API to reach it.

        E.g. an API to record (`testbed record --target http://ADDRESS:PORT`).
        """
        return LOCALHOST

    def allow_record_target(self, origin: str) -> None:
        """Let the running mock API record through to `origin` (it refuses targets it was not started with)."""
        raise StackError(f"the {self.name} stack's mock API was not started allowing {origin}",
                         hint=f"`make down`, then `TESTBED_RECORD_TARGETS={origin} make up`")

    @abstractmethod
    def seed(self) -> SeedReport:
        """Deploy the stack's infrastructure and load the templates (idempotent)."""

    def summary(self, state_machine_arn: str) -> str:
        e = self.endpoints
        example = '{"templateName": "get_user", "method": "GET", "params": {"user_id": "42", "fields": "name,email"}}'
        return "\n".join([
            f"Stack '{self.name}' is up.",
            f"  AWS emulator    {e.aws}   (region {self.config.region}, any credentials)",
            f"  mock API        {e.mockapi}   (journal: {e.mockapi}/__admin/requests)",
            f"  table           {settings.TABLE_NAME}",
            f"  lambda          {settings.FUNCTION_NAME}",
            f"  state machine   {state_machine_arn}",
            "",
            "Point this shell at it (AWS CLI, awslocal, boto3 and the testbed commands below):",
            '  eval "$(make -s env)"',
            "Start an execution and see its timeline (states, Lambda attempts and logs, HTTP exchange):",
            "  .venv/bin/python -m testbed run get_user GET --params '{\"user_id\": \"42\"}'",
            "or with the AWS CLI (in .venv; .venv/bin/awslocal works too):",
            f"  .venv/bin/aws stepfunctions start-execution --state-machine-arn {state_machine_arn} \\",
            f"    --input '{example}'",
            "See what the mock API received:",
            f"  curl -s {e.mockapi}/__admin/requests",
        ])

