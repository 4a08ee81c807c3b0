"""Test helpers over a running stack (run executions, own templates and stubs, read the journal),
and an in-memory table for the unit tests of the seed's writes."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from generic_api_call.template import from_plain
from testbed import aws, settings
from testbed.deploy.report import SeedReport
from testbed.deploy.seed import SeedConfig
from testbed.deploy.template_table import put_templates
from testbed.deploy.templates import TemplateFile, to_item
from testbed.runs import executions
from testbed.stacks import backends
from testbed.stacks.base import Stack

# The paths an execution can take (state names from the execution history).
OK_PATH = ["FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "ChoiceState", "Success"]
HTTP_FAILURE_PATH = [
    "FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "ChoiceState",
    "DescribeHttpFailure", "HandleFailure",
]
INVALID_RESULT_PATH = [
    "FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "ChoiceState",
    "DescribeInvalidResult", "HandleFailure",
]
CAUGHT_PATH = ["FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "HandleFailure"]


# The role of the throwaway functions tests create (the emulator does not check it).
PROBE_ROLE_ARN = "arn:aws:iam::000000000000:role/probe"


def lambda_zip(files: dict[str, str]) -> bytes:
    """A deployment zip holding exactly these files (name -> text)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def source_copy(parent: Path) -> Path:
    """A copy of the source tree the CDK app synthesizes (infra/, lambdas/, statemachines/, the
    templates and the contracts they name, constraints.txt), for a test that edits it: the
    working tree is never edited, so a `make watch` or `make up` beside the tests never deploys
    a test's edit, and no test waits for another."""
    root = parent / "source"
    skip = shutil.ignore_patterns("cdk.out*", "node_modules", "__pycache__", ".testbed")
    for folder in ("infra", "lambdas", "statemachines", "seed/templates", "seed/contracts"):
        shutil.copytree(settings.ROOT / folder, root / folder, ignore=skip)
    shutil.copy2(settings.ROOT / "constraints.txt", root / "constraints.txt")  # the requirements' versions
    return root


_cleanup_log = logging.getLogger("tests.cleanup")


def run_cleanups(cleanups: list[Callable[[], object]]) -> list[BaseException]:
    """Run each cleanup, newest first; one that fails is logged and the others still run (as
    LocalStack's fixtures do), so one failed delete does not leave the rest of a test's data behind.
    Returns the failures (the caller may report them; teardown does not fail for them)."""
    failures: list[BaseException] = []
    for cleanup in reversed(cleanups):
        try:
            cleanup()
        except Exception as exc:  # logged with its traceback; the next cleanup runs
            _cleanup_log.warning("cleanup %r failed; going on with the others", cleanup, exc_info=True)
            failures.append(exc)
    cleanups.clear()
    return failures


_UNIQUE_DIGITS = 12
# What `unique` makes (for lower-case prefixes), for the snapshots' placeholders (tests/snapshots.py).
UNIQUE_ID = re.compile(rf"\b(?P<prefix>[a-z]+)-[0-9a-f]{{{_UNIQUE_DIGITS}}}\b")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:_UNIQUE_DIGITS]}"


def lambda_attempts(result: executions.ExecutionResult) -> int:
    """How many times the Lambda task ran (first try + retries)."""
    return len(result.events("LambdaFunctionScheduled"))  # a Lambda ARN task, as AWS records it


def error_message(result: executions.ExecutionResult) -> str:
    """The Lambda's errorMessage from a caught failure's Cause."""
    return str(json.loads(result.cause or "{}").get("errorMessage", ""))


# Opt-in backends: only when TESTBED_BACKENDS names them. `localstack` builds a venv of its own
# (Python 3.12+, ~30 s cold) and its suite is a subset (docs/localstack.md).
OPT_IN_BACKENDS = ("localstack",)


def selected_backends(value: str | None) -> list[str]:
    """TESTBED_BACKENDS (comma-separated): the backends the integration tests run on; unset or
    empty: all but the opt-in ones."""
    names = [name.strip().lower() for name in (value or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in backends.BACKENDS]
    if unknown:
        raise pytest.UsageError(f"TESTBED_BACKENDS={value!r}: unknown backend {', '.join(map(repr, unknown))}; "
                                f"use a comma-separated list of {', '.join(backends.BACKENDS)}, or unset it for "
                                f"all but {', '.join(OPT_IN_BACKENDS)}")
    if not names:
        return [name for name in backends.BACKENDS if name not in OPT_IN_BACKENDS]
    return [name for name in backends.BACKENDS if name in names]


@dataclass
class Testbed:
    stack: Stack
    seed_report: SeedReport
    state_machine_arn: str

    @classmethod
    def seeded(cls, stack: Stack) -> Testbed:
        report = stack.seed()
        return cls(stack=stack, seed_report=report, state_machine_arn=report.state_machine_arn)

    def seed_config(self, **fields: Any) -> SeedConfig:
        """A seed of this stack; the aws backend's targets AWS itself, which its `up` opted into."""
        target = self.stack.target
        return SeedConfig(**{"api_base_url": self.stack.endpoints.mockapi_for_lambda, "endpoint": target.endpoint,
                             "config": self.stack.config.replace(region=target.region),
                             "allow_aws": self.stack.name == "aws", **fields})

    def client(self, service: str) -> Any:
        """One client per service and stack, made once: creating a boto3 client costs ~10 ms of
        CPU, and the tests ask for one several times each (boto3 clients are thread-safe)."""
        return _client(service, self.stack.target)

    def run(self, template: str, method: str, params: dict[str, Any] | None = None,
            timeout: float = 90.0, test_case: str | None = None) -> executions.ExecutionResult:
        """Run an execution; `test_case` selects a scenario of localstack/sfn_mock_config.json."""
        execution_input: dict[str, Any] = {"templateName": template, "method": method}
        execution_input["params"] = params if params is not None else {}
        arn = f"{self.state_machine_arn}#{test_case}" if test_case else self.state_machine_arn
        return executions.run(self.client("stepfunctions"), arn, execution_input, timeout=timeout)

    def add_template(self, method: str = "GET", **fields: Any) -> str:
        """Store a template owned by the calling test; return its unique name."""
        name = unique("t")
        plain = {"PK": name, "SK": method, **fields}
        template = from_plain(plain)
        put_templates(self.client("dynamodb"), [TemplateFile(path=_nowhere(), template=template, item=to_item(plain))])
        return name

    def add_raw_template(self, method: str = "GET", **fields: Any) -> str:
        """Store an item as is, without the seed's validation (a template gone bad in the table)."""
        name = unique("raw")
        item = to_item({"PK": name, "SK": method, **fields})
        self.client("dynamodb").put_item(TableName=settings.TABLE_NAME, Item=item)
        return name

    def put_secret(self, name: str, value: str) -> None:
        self.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)

    def table_dump(self) -> str:
        items = self.client("dynamodb").scan(TableName=settings.TABLE_NAME, ConsistentRead=True)["Items"]
        return json.dumps(items, ensure_ascii=False)

    def lambda_logs(self) -> str:
        logs = self.client("logs")
        group = f"/aws/lambda/{settings.FUNCTION_NAME}"
        messages: list[str] = []
        try:  # every page: the shared stack's log group holds every test's lines
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
                messages += [event["message"] for event in page["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return ""
        return "\n".join(messages)

    def delete_template(self, name: str, method: str) -> None:
        self.client("dynamodb").delete_item(
            TableName=settings.TABLE_NAME, Key={"PK": {"S": name}, "SK": {"S": method}})

    def delete_stub(self, stub_id: str) -> None:
        response = requests.delete(f"{self.stack.endpoints.mockapi}/__admin/stubs/{stub_id}", timeout=10)
        if response.status_code != 404:  # already gone is fine
            response.raise_for_status()

    def delete_secret(self, name: str) -> None:
        ssm = self.client("ssm")
        with contextlib.suppress(ssm.exceptions.ParameterNotFound):
            ssm.delete_parameter(Name=name)

    def add_stub(self, stub: dict[str, Any]) -> str:
        response = requests.post(f"{self.stack.endpoints.mockapi}/__admin/stubs", json=stub, timeout=10)
        response.raise_for_status()
        return response.json()["id"]

    def received(self, path_prefix: str, trace_id: str | None = None) -> list[dict[str, Any]]:
        """The mock API's journal, oldest first: under `path_prefix`, and of one trace id if given."""
        selection = {"pathPrefix": path_prefix, **({"traceId": trace_id} if trace_id else {})}
        response = requests.get(f"{self.stack.endpoints.mockapi}/__admin/requests", params=selection, timeout=10)
        response.raise_for_status()
        return response.json()["requests"]

    def get_item(self, name: str, method: str) -> dict[str, Any] | None:
        return self.client("dynamodb").get_item(
            TableName=settings.TABLE_NAME, Key={"PK": {"S": name}, "SK": {"S": method}}, ConsistentRead=True,
        ).get("Item")


@functools.cache
def _client(service: str, target: aws.Target) -> Any:
    return aws.client(service, target)


def _nowhere() -> Path:
    return Path("<test>")


class FakeTable:
    """DynamoDB's rules that the seed's writes depend on, in memory, for unit tests: a transaction
    holds at most 100 items and is all or nothing; an item whose `description` is "refused"
    stands for any item DynamoDB refuses; a delete may be conditional on one attribute's value;
    a scan filters on begins_with(#name, :value) only."""

    def __init__(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.items = dict(items)

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        item = self.items.get((Key["PK"]["S"], Key["SK"]["S"]))
        return {} if item is None else {"Item": item}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        assert len(TransactItems) <= 100
        staged = dict(self.items)
        for action in TransactItems:
            if "Put" in action:
                item = action["Put"]["Item"]
                if item.get("description") == {"S": "refused"}:
                    raise RuntimeError("ValidationException")
                staged[(item["PK"]["S"], item["SK"]["S"])] = item
            else:
                delete = action["Delete"]
                key = (delete["Key"]["PK"]["S"], delete["Key"]["SK"]["S"])
                if "ConditionExpression" in delete:
                    assert delete["ConditionExpression"] == "#from = :seen"
                    name = delete["ExpressionAttributeNames"]["#from"]
                    if staged.get(key, {}).get(name) != delete["ExpressionAttributeValues"][":seen"]:
                        reasons = [{"Code": "ConditionalCheckFailed"} if other is action else {"Code": "None"}
                                   for other in TransactItems]
                        raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                                           "CancellationReasons": reasons}, "TransactWriteItems")
                staged.pop(key, None)
        self.items = staged

    def get_paginator(self, operation: str) -> Any:
        assert operation == "scan"
        return self

    def paginate(self, FilterExpression: str, ExpressionAttributeNames: dict[str, str],
                 ExpressionAttributeValues: dict[str, Any], **_: Any) -> Iterator[dict[str, Any]]:
        """One page per item (so the caller must read them all), filtered as DynamoDB would."""
        assert FilterExpression == "begins_with(#from, :folder)"
        name, prefix = ExpressionAttributeNames["#from"], ExpressionAttributeValues[":folder"]["S"]
        for item in list(self.items.values()):
            value = item.get(name)
            yield {"Items": [item] if isinstance(value, dict) and value.get("S", "").startswith(prefix) else []}
