"""Validate a HAR document against the HAR 1.2 JSON schema (npm `har-schema`, pinned in tests/wiremock)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT6

from tests.npm_packages import unpacked


def har_errors(document: Any) -> list[str]:
    """Every schema error, as `path: message` (empty when the document is valid HAR 1.2)."""
    lib = unpacked("har-schema") / "lib"
    schemas = {path.name: json.loads(path.read_text()) for path in lib.glob("*.json")}
    registry: Registry = Registry().with_resources(
        (name, Resource.from_contents(schema, default_specification=DRAFT6)) for name, schema in schemas.items())
    validator = jsonschema.Draft6Validator(schemas["har.json"], registry=registry,
                                           format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]
