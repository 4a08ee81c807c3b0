"""The pinned AWS CDK CLI (infra/package.json, `make cdk-cli`): `cdk deploy` of a synthesized assembly.

The aws backend deploys with it, as a user deploys the app by hand: the CLI publishes the assets
through the account's bootstrap (`cdk bootstrap`, once per account and region) and creates or
updates the stack through CloudFormation. The assembly is the harness's own synthesis
(`testbed.deploy.synth`: cached, cfn-lint, statelint, cdk-nag), passed with `--app <folder>`, so
what is deployed is what was checked. With an endpoint in the target (an emulator standing in for
AWS, as in `.ci/run`) the CLI talks to it through AWS_ENDPOINT_URL, as scripts/cdk-cli-deploy.sh does.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from testbed import aws, settings
from testbed.config import Config
from testbed.deploy import nodejs
from testbed.errors import TestbedError

INFRA = settings.ROOT / "infra"
CLI_PACKAGE = INFRA / "node_modules" / "aws-cdk"


class CdkCliError(TestbedError):
    """The CDK CLI is missing or `cdk deploy` failed; its own output (above) says why."""


def environment(config: Config, target: aws.Target) -> dict[str, str]:
    """The CLI's environment: Node.js on PATH, the target's region, its endpoint or none (AWS)."""
    env = dict(config.environ)
    env["PATH"] = nodejs.search_path(("node", "npx"), env.get("PATH", os.defpath), purpose="for the CDK CLI")
    env.update({"AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region,
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_CLI_TELEMETRY": "1"})
    env.pop("AWS_ENDPOINT_URL", None)
    if target.endpoint:
        env["AWS_ENDPOINT_URL"] = target.endpoint
        if not target.has_credentials:
            env.update({"AWS_ACCESS_KEY_ID": aws.DUMMY_CREDENTIALS["aws_access_key_id"],
                        "AWS_SECRET_ACCESS_KEY": aws.DUMMY_CREDENTIALS["aws_secret_access_key"]})
    return env


def deploy(config: Config, target: aws.Target, assembly: Path, parameters: dict[str, str],
           outputs_file: Path) -> dict[str, str]:
    """`cdk deploy` the assembly's stack (the name its stackName context gave it); returns its outputs."""
    if not CLI_PACKAGE.is_dir():
        raise CdkCliError(f"the pinned CDK CLI is not installed in {CLI_PACKAGE.parent}",
                          hint="run `make cdk-cli` (npm ci of infra/package.json)")
    command = ["npx", "--no-install", "cdk", "deploy", settings.STACK_NAME, "--app", str(assembly),
               "--require-approval", "never", "--ci", "--outputs-file", str(outputs_file)]
    for key, value in sorted(parameters.items()):
        command += ["--parameters", f"{key}={value}"]
    outputs_file.unlink(missing_ok=True)
    # Its progress goes to the terminal as it comes (a first deploy on AWS takes a minute or two).
    result = subprocess.run(command, cwd=INFRA, env=environment(config, target), check=False)
    if result.returncode != 0:
        raise CdkCliError(f"`cdk deploy` failed (exit {result.returncode}); its output above says why",
                          hint="`cdk bootstrap` once per account and region if it says so (docs/aws.md)")
    stacks = json.loads(outputs_file.read_text())
    return next(iter(stacks.values()), {}) if isinstance(stacks, dict) else {}
