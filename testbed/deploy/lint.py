"""Lint what is deployed: statelint on the ASL definition, cfn-lint on the CloudFormation template.

The synth runs `check_asl` on the checkout's ASL file before it runs the CDK app and
`check_assembly` on each assembly it keeps; every deploy runs `check_deployed` on the assembly it
publishes, whatever path led there (`seed --assembly`, the Docker image's hook, a copy). A finding
refuses it with the linter's words. Results are kept by content hash (`_cached`): the assembly a
synth linted is not linted again by the deploys that follow (cfn-lint: seconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

from testbed import settings
from testbed.deploy import statemachine
from testbed.errors import TestbedError

_FINDINGS: dict[str, list[str]] = {}  # "<linter>-<version>-<sha256 of what it read>" -> its findings


class CheckError(TestbedError):
    """A guard refused the deployment; the message says what is wrong and how to fix it."""


def check_asl(asl_path: Path = settings.ASL_PATH) -> None:
    problems = asl_problems(asl_path)
    if problems:
        raise CheckError(f"{asl_path} is not valid Amazon States Language (statelint):\n  " + "\n  ".join(problems))


def check_assembly(template_path: Path, asl_path: Path = settings.ASL_PATH, cache_dir: Path | None = None) -> None:
    """Before any deploy: the ASL file is valid ASL, and the template passes cfn-lint."""
    check_asl(asl_path)
    findings = cfn_lint(template_path, cache_dir)
    if findings:
        raise CheckError(f"cfn-lint refuses {template_path.name}:\n  " + "\n  ".join(findings))


def check_deployed(assembly_dir: Path, cache_dir: Path | None = None) -> None:
    """The assembly as it will be deployed: each state machine's definition as CloudFormation will
    substitute it (statelint), and the template (cfn-lint, where installed: the emulator image's
    seed has statelint only, and its assembly was cfn-linted when the image was built)."""
    template_path = assembly_dir / f"{settings.STACK_NAME}.template.json"
    try:
        definitions = statemachine.deployed_definitions(assembly_dir, json.loads(template_path.read_text()))
    except (OSError, ValueError) as exc:
        raise CheckError(f"{template_path}: cannot be read as a CloudFormation template: {exc}",
                         hint="synthesize again (`make synth`), or point --assembly at a cdk.out folder") from exc
    for logical_id, definition in sorted(definitions.items()):
        problems = definition_problems(definition, cache_dir)
        if problems:
            raise CheckError(
                f"{template_path.name}: state machine {logical_id}'s definition, as deployed, is not valid Amazon "
                "States Language (statelint):\n  " + "\n  ".join(problems),
                context={"template": str(template_path), "state_machine": logical_id},
                hint=f"fix {settings.ASL_PATH.relative_to(settings.ROOT)} and synthesize again; "
                     "a hand-edited assembly deploys as edited")
    if importlib.util.find_spec("cfnlint") is not None:
        findings = cfn_lint(template_path, cache_dir)
        if findings:
            raise CheckError(f"cfn-lint refuses {template_path.name}:\n  " + "\n  ".join(findings),
                             context={"template": str(template_path)})


def asl_problems(asl_path: Path) -> list[str]:
    """statelint's findings for the ASL file as CloudFormation will substitute it."""
    text = asl_path.read_text(encoding="utf-8").replace(
        "${" + settings.LAMBDA_ARN_PLACEHOLDER + "}", statemachine.SAMPLE_ARN)
    return definition_problems(text)


def definition_problems(text: str, cache_dir: Path | None = None) -> list[str]:
    """statelint's findings for a definition (JSON text)."""
    return _cached("statelint", text.encode(), lambda: _statelint(text), cache_dir)


def _statelint(text: str) -> list[str]:
    from statelint.config import Config
    from statelint.linter import Linter
    from statelint.problem import ProblemType

    try:
        definition = json.loads(text)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    # statelint (like the Ruby original) wants BackoffRate written as a float; AWS accepts 2.
    return list(Linter.validate(definition, Config({ProblemType.FLOAT})))


def cfn_lint(template_path: Path, cache_dir: Path | None = None) -> list[str]:
    """cfn-lint's errors and warnings (informational findings are not failures)."""
    return _cached("cfn-lint", template_path.read_bytes(), lambda: _cfn_lint(template_path), cache_dir)


def _cfn_lint(template_path: Path) -> list[str]:
    from cfnlint.api import ManualArgs, lint_file

    # W3005 (a DependsOn that a GetAtt already implies): the CDK adds it for a function's role on
    # purpose (the role's policy must exist first), and it changes nothing on deploy.
    matches = lint_file(template_path, ManualArgs(ignore_checks=["W3005"]))
    return [f"{m.rule.id} {m.message} ({m.path_string or 'line ' + str(m.linenumber)})"
            for m in matches if m.rule.id[:1] in ("E", "W")]


def _cached(linter: str, content: bytes, lint: Callable[[], list[str]], cache_dir: Path | None) -> list[str]:
    """Findings by content: in this process, and a clean result also in `cache_dir` (the state
    folder's lint cache: a marker named by the content's hash, so an edited copy is linted again),
    so a `make up` that deploys the assembly an earlier synth linted does not lint it again
    (cfn-lint: ~2-4 s of CPU). Never in the assembly: whoever hands in an assembly could hand in
    a marker with it and skip the lint."""
    key = f"{linter}-{importlib.metadata.version(linter)}-{hashlib.sha256(content).hexdigest()}"
    clean = cache_dir / key if cache_dir is not None else None
    if key not in _FINDINGS:
        _FINDINGS[key] = [] if clean is not None and clean.is_file() else lint()
        if not _FINDINGS[key] and clean is not None:
            with contextlib.suppress(OSError):  # a read-only assembly (the image's) only costs a lint next time
                clean.parent.mkdir(parents=True, exist_ok=True)
                clean.touch()
    return list(_FINDINGS[key])
