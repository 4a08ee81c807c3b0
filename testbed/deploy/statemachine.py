"""The state machine definition: one ASL file, with `${Name}` placeholders filled at deploy time.

The placeholders use the syntax of CloudFormation's DefinitionSubstitutions, so the same
file deploys unchanged to AWS with SAM, CDK or CloudFormation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from testbed import settings
from testbed.errors import TestbedError

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_SUB_VARIABLE = re.compile(r"\$\{[A-Za-z0-9_:.]+\}")  # Fn::Sub's: ${Name}, ${AWS::Region}, ${Resource.Arn}
# What a value CloudFormation computes at deploy time (a GetAtt, a Ref) stands for when a definition
# is linted before it: any well-formed ARN, since the linter checks the definition's shape, not the account.
SAMPLE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:GenericApiCallLambda"
STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"


class DefinitionError(TestbedError):
    """The ASL file is not valid JSON, or a placeholder has no value."""


def render_definition(substitutions: dict[str, str], path: Path = settings.ASL_PATH) -> str:
    text = path.read_text(encoding="utf-8")
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(substitutions))
    if missing:
        raise DefinitionError(f"{path}: no value for placeholder(s) {missing}")
    rendered = _PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], text)
    try:
        json.loads(rendered)
    except ValueError as exc:
        raise DefinitionError(f"{path}: not valid JSON after substitution: {exc}") from exc
    return rendered


def same_definition(a: str, b: str) -> bool:
    """Compare definitions as JSON, so formatting differences do not count as changes."""
    return _parse(a) == _parse(b)


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def deployed_definitions(assembly_dir: Path, template: dict[str, Any]) -> dict[str, str]:
    """Each state machine's definition (by logical id) as the deploy publishes it and CloudFormation
    substitutes it: the `Definition`, `DefinitionString` or the file asset `DefinitionS3Location`
    names, with DefinitionSubstitutions filled (values computed at deploy time by SAMPLE_ARN)."""
    found = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != STATE_MACHINE_TYPE:
            continue
        properties = resource.get("Properties", {})
        substitutions = {name: value if isinstance(value, str) else SAMPLE_ARN
                         for name, value in properties.get("DefinitionSubstitutions", {}).items()}
        body = _body(assembly_dir, logical_id, properties)
        found[logical_id] = _substitute(body, substitutions)
    return found


def _substitute(text: str, substitutions: dict[str, str]) -> str:
    """CloudFormation's DefinitionSubstitutions: a `${Name}` without a value stays as written."""
    return _PLACEHOLDER.sub(lambda m: substitutions.get(m.group(1), m.group(0)), text)


def _body(assembly_dir: Path, logical_id: str, properties: dict[str, Any]) -> str:
    if "Definition" in properties:
        return json.dumps(properties["Definition"])
    if "DefinitionString" in properties:
        return _intrinsic_text(properties["DefinitionString"])
    location = properties.get("DefinitionS3Location")
    if not isinstance(location, dict):
        raise DefinitionError(f"state machine {logical_id}: no Definition, DefinitionString or DefinitionS3Location")
    manifest = assembly_dir / f"{settings.STACK_NAME}.assets.json"
    assets = json.loads(manifest.read_text()) if manifest.is_file() else {}
    for asset in assets.get("files", {}).values():
        if any(d.get("objectKey") == location.get("Key") for d in asset.get("destinations", {}).values()):
            return (assembly_dir / asset["source"]["path"]).read_text(encoding="utf-8")
    raise DefinitionError(f"state machine {logical_id}: its DefinitionS3Location {location.get('Key')!r} is no "
                          f"file asset of {manifest}: synthesize the assembly again")


def _intrinsic_text(value: Any) -> str:
    """A DefinitionString as text: a string, an Fn::Join of strings and computed values, or an Fn::Sub."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_intrinsic_text(part) if isinstance(part, str) else SAMPLE_ARN for part in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return _SUB_VARIABLE.sub(SAMPLE_ARN, text)
    return SAMPLE_ARN
