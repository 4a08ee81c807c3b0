"""Guards against the emulator's leniency: a deploy that would fail on AWS fails here too.

MiniStack 1.5.33's CloudFormation reports CREATE_COMPLETE for things AWS refuses or that
are simply broken (measured, see issue 7): a state machine whose definition is not valid
ASL, a Lambda whose code object is missing (it then "succeeds" with no code), a stack over
resources that already exist (replacing them), and a function still being updated right
after UPDATE_COMPLETE. Each check here closes one of those holes, with a message that
names the resource and the fix.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from testbed import aws, probes, settings
from testbed.deploy.lint import CheckError
from testbed.deploy.packaging import PublishedAsset

FUNCTION_UPDATE_TIMEOUT_SECONDS = 60.0
_NOT_FOUND = ("ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException", "StateMachineDoesNotExist")


EMULATOR_FIX = "delete them, or start a fresh emulator (`make down && make up`)"


def refuse_foreign_resources(target: aws.Target, stack_name: str, fix: str = EMULATOR_FIX) -> None:
    """Before creating the stack: nothing may already exist under the stack's physical names."""
    found = [label for label, exists in _named_resources(target) if exists()]
    if found:
        raise CheckError(
            f"stack {stack_name} does not exist, but resources with its names do: {', '.join(found)}. "
            "CloudFormation on AWS refuses to create over them (the emulator would replace them and lose "
            f"their data). They come from another deployment or an earlier seed: {fix}.")


def _named_resources(target: aws.Target) -> list[tuple[str, Any]]:
    dynamodb = aws.client("dynamodb", target)
    lambda_ = aws.client("lambda", target)
    iam = aws.client("iam", target)
    sfn = aws.client("stepfunctions", target)
    logs = aws.client("logs", target)

    def probe(call: Any, **kwargs: Any) -> Any:
        def exists() -> bool:
            try:
                call(**kwargs)
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                    return False
                raise
        return exists

    def state_machine() -> bool:
        pages = sfn.get_paginator("list_state_machines").paginate()
        return any(m["name"] == settings.STATE_MACHINE_NAME for page in pages for m in page["stateMachines"])

    def log_group() -> bool:
        groups = logs.describe_log_groups(logGroupNamePrefix=settings.LOG_GROUP_NAME)["logGroups"]
        return any(g["logGroupName"] == settings.LOG_GROUP_NAME for g in groups)

    return [
        (f"log group {settings.LOG_GROUP_NAME}", log_group),
        (f"table {settings.TABLE_NAME}", probe(dynamodb.describe_table, TableName=settings.TABLE_NAME)),
        (f"function {settings.FUNCTION_NAME}", probe(lambda_.get_function, FunctionName=settings.FUNCTION_NAME)),
        (f"role {settings.LAMBDA_ROLE_NAME}", probe(iam.get_role, RoleName=settings.LAMBDA_ROLE_NAME)),
        (f"role {settings.STATE_MACHINE_ROLE_NAME}", probe(iam.get_role, RoleName=settings.STATE_MACHINE_ROLE_NAME)),
        (f"state machine {settings.STATE_MACHINE_NAME}", state_machine),
    ]


def check_function(target: aws.Target, template: dict[str, Any], published: dict[str, PublishedAsset]) -> None:
    """After the stack is complete: the function is updated, and runs the published code."""
    keys = {asset.key: asset for asset in published.values()}
    lambda_ = aws.client("lambda", target)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        name = resource["Properties"].get("FunctionName", "")
        s3_key = resource["Properties"].get("Code", {}).get("S3Key")
        asset = keys.get(s3_key) if isinstance(s3_key, str) else None
        if not name or asset is None:
            raise CheckError(f"function {name or '?'}: its code is not a published file asset ({s3_key!r})")
        configuration = _wait_updated(lambda_, name)
        if configuration.get("CodeSha256") != asset.code_sha256:
            raise CheckError(
                f"function {name} runs code {configuration.get('CodeSha256')!r}, not the published asset "
                f"s3://{asset.bucket}/{asset.key} ({asset.code_sha256}). The emulator accepted a missing or "
                "different code object; synthesize and deploy again (`make synth && make up`).")


def _wait_updated(lambda_: Any, name: str) -> dict[str, Any]:
    """The function's configuration once it is Active and its last update Successful."""
    seen: dict[str, Any] = {}

    def updated() -> bool:
        seen.update(lambda_.get_function_configuration(FunctionName=name))
        if seen.get("LastUpdateStatus") == "Failed" or seen.get("State") == "Failed":
            raise CheckError(f"function {name} failed to update: {seen.get('LastUpdateStatusReason')}")
        return seen.get("State", "Active") == "Active" and seen.get("LastUpdateStatus", "Successful") == "Successful"

    probes.wait_until(updated, timeout=FUNCTION_UPDATE_TIMEOUT_SECONDS, what=f"function {name} update",
                      detail=lambda: f"State={seen.get('State')} LastUpdateStatus={seen.get('LastUpdateStatus')}")
    return seen
