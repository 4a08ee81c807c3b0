"""Deploy a synthesized cloud assembly to the emulator through its CloudFormation API.

What `cdk deploy` does for AWS, with boto3, in well under a second: make sure the bootstrap
resources the template refers to exist (the asset bucket and the SSM version parameter),
upload the file assets, then create or update the stack and wait for it. An unchanged
template with unchanged parameters is not sent at all ("nothing changed").

The emulator's CloudFormation is more lenient than AWS's; `testbed.deploy.guards` holds the
guards that make a deploy fail here where it would fail there (foreign resources with the
stack's names, a function whose code is not the published asset or not yet updated).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from testbed import aws, probes, settings
from testbed.deploy import guards, lint, packaging
from testbed.deploy.packaging import PublishedAsset
from testbed.errors import TestbedError

BOOTSTRAP_QUALIFIER = "hnb659fds"  # the CDK's default; the template's asset bucket names use it
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"
BOOTSTRAP_VERSION = "30"  # >= what the CDK's CheckBootstrapVersion rule requires
STACK_TIMEOUT_SECONDS = 180.0


class DeployError(TestbedError):
    """The stack could not be deployed; the message names the resource and the fix."""


@dataclass
class DeployResult:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


def deploy(assembly_dir: Path, parameters: dict[str, str], target: aws.Target,
           stack_name: str = settings.STACK_NAME, lint_cache: Path | None = None) -> DeployResult:
    """Deploy the assembly's stack (its files are named for settings.STACK_NAME) as `stack_name`.
    `lint_cache`: where clean lint results are remembered (the state folder's), None: this process only."""
    lint.check_deployed(assembly_dir, lint_cache)  # whatever made the assembly: what is deployed is what is linted
    artifact = settings.STACK_NAME
    template_text = (assembly_dir / f"{artifact}.template.json").read_text()
    assets = json.loads((assembly_dir / f"{artifact}.assets.json").read_text())
    cloudformation = aws.client("cloudformation", target)
    account = aws.client("sts", target).get_caller_identity()["Account"]
    region = cloudformation.meta.region_name
    result = DeployResult()

    published = publish_assets(assembly_dir, assets, account, region, target)
    wanted_parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    current = _describe(cloudformation, stack_name)
    if current is None or current["StackStatus"] == "ROLLBACK_COMPLETE":
        if current is not None:  # a failed first create can only be deleted, as on AWS
            _delete(cloudformation, stack_name)
        guards.refuse_foreign_resources(target, stack_name)
        cloudformation.create_stack(StackName=stack_name, TemplateBody=template_text, Parameters=wanted_parameters,
                                    Capabilities=["CAPABILITY_NAMED_IAM"])
        _wait(cloudformation, stack_name, "CREATE_COMPLETE")
        result.changed.append(f"stack {stack_name}: created")
    elif _same(cloudformation, stack_name, current, template_text, wanted_parameters):
        result.unchanged.append(f"stack {stack_name}")
    else:
        try:
            cloudformation.update_stack(StackName=stack_name, TemplateBody=template_text,
                                        Parameters=wanted_parameters, Capabilities=["CAPABILITY_NAMED_IAM"])
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            result.unchanged.append(f"stack {stack_name}")
        else:
            _wait(cloudformation, stack_name, "UPDATE_COMPLETE")
            result.changed.append(f"stack {stack_name}: updated")
    described = _describe(cloudformation, stack_name) or {}
    result.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    guards.check_function(target, json.loads(template_text), published)
    return result


def publish_assets(assembly_dir: Path, assets: dict[str, Any], account: str, region: str,
                   target: aws.Target) -> dict[str, PublishedAsset]:
    """Upload every file asset (a zip of a folder, or a file) once; keys are content hashes."""
    s3 = aws.client("s3", target)
    ssm = aws.client("ssm", target)
    published: dict[str, PublishedAsset] = {}
    buckets: set[str] = set()
    for asset_id, asset in assets.get("files", {}).items():
        source = assembly_dir / asset["source"]["path"]
        for destination in asset["destinations"].values():
            bucket = _resolve(destination["bucketName"], account, region)
            key = _resolve(destination["objectKey"], account, region)
            if bucket not in buckets:
                _bootstrap(s3, ssm, bucket, region)
                buckets.add(bucket)
            if asset["source"].get("packaging") == "zip":
                data = packaging.zip_folder(source).data
            else:
                data = source.read_bytes()
            if not _exists(s3, bucket, key):
                s3.put_object(Bucket=bucket, Key=key, Body=data)
            published[asset_id] = PublishedAsset(bucket, key, packaging.LambdaZip(data).code_sha256)
    if assets.get("dockerImages"):
        raise DeployError("the assembly has Docker image assets; this deployer publishes file assets only")
    return published


def _bootstrap(s3: Any, ssm: Any, bucket: str, region: str) -> None:
    """The two bootstrap resources the synthesized template refers to (what `cdk bootstrap` makes)."""
    if not _bucket_exists(s3, bucket):
        kwargs: dict[str, Any] = {}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **kwargs)
    try:
        ssm.get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)
    except ssm.exceptions.ParameterNotFound:
        ssm.put_parameter(Name=BOOTSTRAP_VERSION_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String",
                          Overwrite=True)


def _resolve(text: str, account: str, region: str) -> str:
    return text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region).replace(
        "${AWS::Partition}", "aws")


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError:
        return False


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def _describe(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def _same(cloudformation: Any, stack_name: str, current: dict[str, Any], template_text: str,
          wanted_parameters: list[dict[str, str]]) -> bool:
    if not current["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in current["StackStatus"]:
        return False
    deployed = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    deployed_template = deployed if isinstance(deployed, dict) else json.loads(deployed)
    if deployed_template != json.loads(template_text):
        return False
    have = {p["ParameterKey"]: p.get("ParameterValue") for p in current.get("Parameters", [])}
    return all(have.get(p["ParameterKey"]) == p["ParameterValue"] for p in wanted_parameters)


def _wait(cloudformation: Any, stack_name: str, success: str) -> None:
    """Poll the stack's status with a deadline; a failure names the failed resources."""
    seen: dict[str, str] = {}

    def done() -> bool:
        stack = _describe(cloudformation, stack_name)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        seen["status"] = status
        if status == success:
            return True
        if status.endswith(("_FAILED", "ROLLBACK_COMPLETE")) or status == "DELETE_COMPLETE":
            raise DeployError(f"stack {stack_name} ended in {status}:\n{_failures(cloudformation, stack_name)}")
        return False

    probes.wait_until(done, timeout=STACK_TIMEOUT_SECONDS, what=f"stack {stack_name} ({success})",
                      detail=lambda: f"last status: {seen.get('status')}")


def _failures(cloudformation: Any, stack_name: str) -> str:
    try:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    except ClientError:
        return "  (no events)"
    failed = [e for e in events if e.get("ResourceStatus", "").endswith("FAILED")]
    return "\n".join(f"  {e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in failed[:10]) or \
        "  (no failed resource events)"


def _delete(cloudformation: Any, stack_name: str, timeout: float = STACK_TIMEOUT_SECONDS) -> None:
    cloudformation.delete_stack(StackName=stack_name)
    probes.wait_until(lambda: _describe(cloudformation, stack_name) is None, timeout=timeout,
                      what=f"deletion of stack {stack_name}")


def exists(target: aws.Target, stack_name: str) -> bool:
    return _describe(aws.client("cloudformation", target), stack_name) is not None


def delete(target: aws.Target, stack_name: str, timeout: float = STACK_TIMEOUT_SECONDS) -> list[str]:
    """Delete the stack and wait for it; returns what CloudFormation keeps ("TYPE NAME" of each
    resource whose DeletionPolicy is Retain: removalPolicy=retain), which outlives the stack."""
    cloudformation = aws.client("cloudformation", target)
    if _describe(cloudformation, stack_name) is None:
        return []
    body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    template = body if isinstance(body, dict) else json.loads(body)
    kept = {logical for logical, resource in template.get("Resources", {}).items()
            if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")}
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    retained = [f"{r['ResourceType']} {r.get('PhysicalResourceId', r['LogicalResourceId'])}"
                for r in resources if r["LogicalResourceId"] in kept]
    _delete(cloudformation, stack_name, timeout)
    return retained
