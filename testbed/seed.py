"""Seed a stack, idempotently: table, templates, Lambda, state machine.

Everything is validated and built before the first write (template files, the Lambda zip,
the state machine definition), so a bad input leaves the stack as it was. Each resource is
compared with what is deployed and written only when it differs: a second run reports
that nothing changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from testbed import aws, packaging, settings, statemachine, templates

_WAITER = {"Delay": 1, "MaxAttempts": 120}
_ASSUME_ROLE = {
    "lambda": "lambda.amazonaws.com",
    "states": "states.amazonaws.com",
}


class SeedError(RuntimeError):
    """The stack is in a state the seed cannot reconcile (e.g. a table with another key)."""


@dataclass
class SeedReport:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    state_machine_arn: str = ""

    def to_json(self) -> str:
        return json.dumps({"changed": self.changed, "unchanged": self.unchanged,
                           "stateMachineArn": self.state_machine_arn})

    @classmethod
    def from_json(cls, text: str) -> SeedReport:
        data = json.loads(text)
        return cls(changed=data["changed"], unchanged=data["unchanged"], state_machine_arn=data["stateMachineArn"])

    def lines(self) -> list[str]:
        lines = [f"  {line}" for line in self.changed]
        if not self.changed:
            lines.append(f"  nothing changed ({len(self.unchanged)} resources already up to date)")
        else:
            lines.append(f"  {len(self.changed)} changed, {len(self.unchanged)} unchanged")
        return lines


@dataclass(frozen=True)
class SeedConfig:
    api_base_url: str  # where the Lambda reaches the external API (the mock API locally)
    endpoint: str | None = None  # AWS endpoint; None: AWS_ENDPOINT_URL from the environment
    templates_dir: Path = settings.TEMPLATES_DIR
    templates_only: bool = False  # table and templates; leave the Lambda and state machine as they are


class Clients:
    def __init__(self, endpoint: str | None) -> None:
        self.dynamodb = aws.client("dynamodb", endpoint=endpoint)
        self.lambda_ = aws.client("lambda", endpoint=endpoint)
        self.stepfunctions = aws.client("stepfunctions", endpoint=endpoint)
        self.iam = aws.client("iam", endpoint=endpoint)
        self.sts = aws.client("sts", endpoint=endpoint)
        self.region = self.dynamodb.meta.region_name


def validate(config: SeedConfig) -> list[templates.TemplateFile]:
    """Every template file, checked as the Lambda would use it; raises before any write."""
    template_files = templates.load_dir(config.templates_dir)
    templates.check_destinations(template_files, config.api_base_url, allowed_hosts(config.api_base_url))
    return template_files


def seed(config: SeedConfig) -> SeedReport:
    template_files = validate(config)
    clients = Clients(config.endpoint)
    report = SeedReport()
    if config.templates_only:
        ensure_table(clients.dynamodb, report)
        put_templates(clients.dynamodb, template_files, report)
        return report
    environment = {"API_BASE_URL": config.api_base_url, "ALLOWED_HOSTS": allowed_hosts(config.api_base_url)}
    lambda_zip = packaging.build()
    account = clients.sts.get_caller_identity()["Account"]
    function_arn = f"arn:aws:lambda:{clients.region}:{account}:function:{settings.FUNCTION_NAME}"
    definition = statemachine.render_definition({"GenericApiCallLambdaArn": function_arn})

    ensure_table(clients.dynamodb, report)
    put_templates(clients.dynamodb, template_files, report)
    lambda_role = ensure_role(clients.iam, settings.LAMBDA_ROLE_NAME, "lambda", report)
    ensure_function(clients.lambda_, lambda_zip, lambda_role, environment, report)
    sfn_role = ensure_role(clients.iam, settings.STATE_MACHINE_ROLE_NAME, "states", report)
    report.state_machine_arn = ensure_state_machine(clients.stepfunctions, definition, sfn_role, report)
    return report


def allowed_hosts(api_base_url: str) -> str:
    """The Lambda's destination allow-list: the API's host and port, plus configured extras."""
    parts = urlsplit(api_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SeedError(f"--api-base-url {api_base_url!r} must be an absolute http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    own = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    extra = [h.strip() for h in os.environ.get("TESTBED_ALLOWED_HOSTS_EXTRA", "").split(",") if h.strip()]
    return ",".join([own, *extra])


def ensure_table(dynamodb: Any, report: SeedReport) -> None:
    name = settings.TABLE_NAME
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAITER)
        report.changed.append(f"table {name}: created")
        return
    keys = {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]}
    if keys != {("PK", "HASH"), ("SK", "RANGE")}:
        raise SeedError(f"table {name} exists with key schema {sorted(keys)}; expected PK (HASH) and SK (RANGE)")
    report.unchanged.append(f"table {name}")


def put_templates(
    dynamodb: Any, template_files: Iterable[templates.TemplateFile], report: SeedReport | None = None
) -> None:
    """Upsert templates, writing only those that differ from the stored item, all or nothing.

    Every item is read and compared first; the changed ones are then written in one
    TransactWriteItems (DynamoDB's limits: 100 items and 4 MB per transaction; more changes
    than that are written in several, and when one fails, those before it are put back to
    the items read first). A write DynamoDB refuses therefore leaves every template as it
    was, not the files sorted before it written.
    """
    report = report if report is not None else SeedReport()
    changes: list[tuple[templates.TemplateFile, dict[str, Any] | None]] = []  # with the item stored before
    for template_file in template_files:
        name, method = template_file.key
        stored = dynamodb.get_item(
            TableName=settings.TABLE_NAME, Key=_key(template_file), ConsistentRead=True).get("Item")
        if stored == template_file.item:
            report.unchanged.append(f"template {name} {method}")
        else:
            changes.append((template_file, stored))
    before = {template_file.key: stored for template_file, stored in changes}
    written: list[templates.TemplateFile] = []
    try:
        for batch in _transactions([template_file for template_file, _ in changes]):
            dynamodb.transact_write_items(
                TransactItems=[{"Put": {"TableName": settings.TABLE_NAME, "Item": f.item}} for f in batch])
            written += batch
    except Exception:
        # Over 100 changes take several transactions: put back what the earlier ones wrote.
        _restore(dynamodb, [(f, before[f.key]) for f in written])
        raise
    for template_file, stored in changes:
        name, method = template_file.key
        report.changed.append(
            f"template {name} {method}: {'updated' if stored else 'created'} ({template_file.path.name})")


def _key(template_file: templates.TemplateFile) -> dict[str, Any]:
    name, method = template_file.key
    return {"PK": {"S": name}, "SK": {"S": method}}


def _restore(dynamodb: Any, written: list[tuple[templates.TemplateFile, dict[str, Any] | None]]) -> None:
    """Each written template back to the item stored before (deleted if there was none)."""
    for start in range(0, len(written), _TRANSACTION_ITEMS):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": settings.TABLE_NAME, "Item": stored}} if stored is not None
            else {"Delete": {"TableName": settings.TABLE_NAME, "Key": _key(template_file)}}
            for template_file, stored in written[start:start + _TRANSACTION_ITEMS]
        ])


_TRANSACTION_ITEMS = 100
_TRANSACTION_BYTES = 4 * 1024 * 1024


def _transactions(files: list[templates.TemplateFile]) -> list[list[templates.TemplateFile]]:
    batches: list[list[templates.TemplateFile]] = []
    size = 0
    for template_file in files:
        item_bytes = len(json.dumps(template_file.item))  # an upper bound of DynamoDB's own count
        if not batches or len(batches[-1]) >= _TRANSACTION_ITEMS or size + item_bytes > _TRANSACTION_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(template_file)
        size += item_bytes
    return batches


def ensure_role(iam: Any, name: str, service: str, report: SeedReport) -> str:
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        pass
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": _ASSUME_ROLE[service]},
            "Action": "sts:AssumeRole",
        }],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]
    report.changed.append(f"role {name}: created")
    return arn


def ensure_function(
    lambda_: Any, lambda_zip: packaging.LambdaZip, role_arn: str, environment: dict[str, str], report: SeedReport
) -> None:
    name = settings.FUNCTION_NAME
    wanted = {
        "Runtime": settings.LAMBDA_RUNTIME,
        "Handler": settings.LAMBDA_HANDLER,
        "Timeout": settings.LAMBDA_TIMEOUT_SECONDS,
        "MemorySize": settings.LAMBDA_MEMORY_MB,
        "Role": role_arn,
        "Environment": {"Variables": environment},
    }
    try:
        current = lambda_.get_function(FunctionName=name)["Configuration"]
    except lambda_.exceptions.ResourceNotFoundException:
        lambda_.create_function(FunctionName=name, Code={"ZipFile": lambda_zip.data}, **wanted)
        lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=_WAITER)
        report.changed.append(f"lambda {name}: created")
        return
    updated = []
    if current.get("CodeSha256") != lambda_zip.code_sha256:
        lambda_.update_function_code(FunctionName=name, ZipFile=lambda_zip.data)
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAITER)
        updated.append("code")
    if any(current.get(key) != value for key, value in wanted.items()):
        lambda_.update_function_configuration(FunctionName=name, **wanted)
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAITER)
        updated.append("configuration")
    if updated:
        report.changed.append(f"lambda {name}: {' and '.join(updated)} updated")
    else:
        report.unchanged.append(f"lambda {name}")


def ensure_state_machine(stepfunctions: Any, definition: str, role_arn: str, report: SeedReport) -> str:
    name = settings.STATE_MACHINE_NAME
    arn = _find_state_machine(stepfunctions, name)
    if arn is None:
        arn = stepfunctions.create_state_machine(
            name=name, definition=definition, roleArn=role_arn, type="STANDARD"
        )["stateMachineArn"]
        report.changed.append(f"state machine {name}: created")
        return arn
    current = stepfunctions.describe_state_machine(stateMachineArn=arn)
    if statemachine.same_definition(current["definition"], definition) and current["roleArn"] == role_arn:
        report.unchanged.append(f"state machine {name}")
    else:
        stepfunctions.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        report.changed.append(f"state machine {name}: updated")
    return arn


def _find_state_machine(stepfunctions: Any, name: str) -> str | None:
    for page in stepfunctions.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return machine["stateMachineArn"]
    return None
