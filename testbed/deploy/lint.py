"""Lint what is deployed: statelint on the ASL definition, cfn-lint on the CloudFormation template.

Run by the synth on every assembly it keeps; a finding refuses the assembly with the linter's words.
"""

from __future__ import annotations

import json
from pathlib import Path

from testbed import settings
from testbed.errors import TestbedError

# Any well-formed Lambda ARN: the validator checks the definition's shape, not the account.
_SAMPLE_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:GenericApiCallLambda"


class CheckError(TestbedError):
    """A guard refused the deployment; the message says what is wrong and how to fix it."""


def check_assembly(template_path: Path, asl_path: Path = settings.ASL_PATH) -> None:
    """Before any deploy: the ASL file is valid ASL, and the template passes cfn-lint."""
    problems = asl_problems(asl_path)
    if problems:
        raise CheckError(f"{asl_path} is not valid Amazon States Language (statelint):\n  " + "\n  ".join(problems))
    findings = cfn_lint(template_path)
    if findings:
        raise CheckError(f"cfn-lint refuses {template_path.name}:\n  " + "\n  ".join(findings))


def asl_problems(asl_path: Path) -> list[str]:
    """statelint's findings for the definition as CloudFormation will substitute it."""
    from statelint.config import Config
    from statelint.linter import Linter
    from statelint.problem import ProblemType

    text = asl_path.read_text(encoding="utf-8").replace(
        "${" + settings.LAMBDA_ARN_PLACEHOLDER + "}", _SAMPLE_FUNCTION_ARN)
    try:
        definition = json.loads(text)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    # statelint (like the Ruby original) wants BackoffRate written as a float; AWS accepts 2.
    return list(Linter.validate(definition, Config({ProblemType.FLOAT})))


def cfn_lint(template_path: Path) -> list[str]:
    """cfn-lint's errors and warnings (informational findings are not failures)."""
    from cfnlint.api import ManualArgs, lint_file

    # W3005 (a DependsOn that a GetAtt already implies): the CDK adds it for a function's role on
    # purpose (the role's policy must exist first), and it changes nothing on deploy.
    matches = lint_file(template_path, ManualArgs(ignore_checks=["W3005"]))
    return [f"{m.rule.id} {m.message} ({m.path_string or 'line ' + str(m.linenumber)})"
            for m in matches if m.rule.id[:1] in ("E", "W")]
