#!/usr/bin/env python3
"""The CDK app: `cdk synth` / `cdk deploy` (AWS), `make synth` and `make up` (the emulator).

Context: removalPolicy=retain|destroy, secretPrefix=<prefix>, stackName=<CloudFormation stack name>
(see README, "Deploying to AWS", and docs/aws.md).
Environment: TESTBED_STATE_DIR (build cache for the Lambda's wheels; default .testbed/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `cdk` runs this file from infra/

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from api_stack import config
from api_stack.stack import ApiTemplateStack, stack_name


def build_app(outdir: str | None = None, context: dict[str, str] | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir, context=context)
    state_dir = Path(os.environ.get("TESTBED_STATE_DIR") or config.REPO_ROOT / ".testbed")
    ApiTemplateStack(app, config.STACK_NAME, build_cache=state_dir / "build",
                     stack_name=stack_name(app.node.try_get_context(config.CONTEXT_STACK_NAME)),
                     description="API-template testbed: DynamoDB templates -> Step Functions -> Lambda")
    # cdk-nag's AwsSolutions pack runs at every synth; a finding fails the synth unless the stack
    # acknowledges it with a reason (ApiTemplateStack._justify).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
