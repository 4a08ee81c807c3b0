"""Template data files (seed/templates/<name>.<METHOD>.yaml): load, validate, convert to items.

A file holds one template: `name` and `method` (the item's PK and SK) plus the request
fields. Validation uses the Lambda's own template model and Jinja parser, so the seed
rejects exactly what the Lambda would reject at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from boto3.dynamodb.types import TypeSerializer

from generic_api_call.destinations import AllowList, check_origin
from generic_api_call.errors import DestinationRefused, GenericApiCallError, InvalidTemplate, SecretNotAllowed
from generic_api_call.render import check_syntax, template_destination
from generic_api_call.template import Template, from_plain

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")
_serializer = TypeSerializer()


class TemplateFileError(ValueError):
    """A template file is invalid; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class TemplateFile:
    path: Path
    template: Template
    item: dict[str, Any]  # attribute-value form, ready for put_item

    @property
    def key(self) -> tuple[str, str]:
        return self.template.name, self.template.method


def load_dir(directory: Path) -> list[TemplateFile]:
    """Load and validate every template file; raise TemplateFileError on the first bad one."""
    if not directory.is_dir():
        raise TemplateFileError(directory, "templates directory not found")
    paths = sorted(p for p in directory.iterdir() if p.suffix in TEMPLATE_SUFFIXES)
    if not paths:
        raise TemplateFileError(directory, f"no template files ({', '.join(TEMPLATE_SUFFIXES)}) found")
    loaded: list[TemplateFile] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        template_file = load_file(path)
        if template_file.key in seen:
            raise TemplateFileError(path, f"duplicate template {template_file.key}, also in {seen[template_file.key]}")
        seen[template_file.key] = path
        loaded.append(template_file)
    return loaded


def load_file(path: Path) -> TemplateFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateFileError(path, f"cannot be read as YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateFileError(path, "must contain a map with 'name', 'method' and 'url'")
    for required in ("name", "method"):
        if not isinstance(data.get(required), str) or not data[required].strip():
            raise TemplateFileError(path, f"field '{required}' is missing or not a non-empty string")
    plain = {k: v for k, v in data.items() if k not in ("name", "method")}
    plain["PK"], plain["SK"] = data["name"], data["method"]
    try:
        template = from_plain(plain)
        check_syntax(template)
    except (InvalidTemplate, SecretNotAllowed) as exc:
        raise TemplateFileError(path, str(exc).replace("'PK'", "'name'").replace("'SK'", "'method'")) from exc
    expected = f"{template.name}.{template.method}"
    if path.stem != expected:
        raise TemplateFileError(
            path, f"field 'name'/'method' ({expected}) does not match the file name: rename it {expected}{path.suffix}")
    return TemplateFile(path=path, template=template, item=to_item(plain | {"SK": template.method}))


def check_destinations(template_files: list[TemplateFile], base_url: str, allowed: str) -> None:
    """Each template must call a host of the allow-list (`allowed`, as the Lambda gets it).

    The Lambda's own static check: the origin comes from the url's text, never from params.
    """
    allow = AllowList.parse(allowed)
    for template_file in template_files:
        try:
            check_origin(template_destination(template_file.template, base_url), allow)
        except DestinationRefused as exc:
            raise TemplateFileError(
                template_file.path,
                f"field 'url': {exc}; use {{{{ base_url }}}}, or add the host to TESTBED_ALLOWED_HOSTS_EXTRA",
            ) from exc
        except GenericApiCallError as exc:
            raise TemplateFileError(template_file.path, f"field 'url': {exc}") from exc


def to_item(plain: dict[str, Any]) -> dict[str, Any]:
    """Plain data to DynamoDB attribute-value form (floats become Decimals, as DynamoDB needs)."""
    return {key: _serializer.serialize(_decimals(value)) for key, value in plain.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
