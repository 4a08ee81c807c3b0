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
