"""openapi-core's request errors as violations that name the request part, the field and the rule.

`query.fields: required`, `body.items[0].qty: 'x' is not of type 'integer'`. A parameter's value
is never quoted (headers, cookies and query strings carry credentials); body messages quote the
value, through the caller's `mask` (the dry run and the seed mask the template's secrets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from openapi_core.validation.request.exceptions import (
    MissingRequestBodyError,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)

# What a parameter must be, per JSON Schema keyword: said without the value sent.
_PARAMETER_RULES = {
    "type": "must be of type {!r}",
    "pattern": "must match the pattern {!r}",
    "enum": "must be one of {!r}",
    "const": "must be {!r}",
    "format": "must be of format {!r}",
    "minimum": "must be at least {!r}",
    "maximum": "must be at most {!r}",
    "minLength": "must have at least {!r} characters",
    "maxLength": "must have at most {!r} characters",
}


@dataclass(frozen=True)
class Violation:
    part: str  # path, query, header, cookie, body, security, operation
    field: str  # the parameter, or the body field (items[0].qty); "" for the part as a whole
    rule: str

    def __str__(self) -> str:
        return f"{self.part}.{self.field}: {self.rule}" if self.field else f"{self.part}: {self.rule}"

    def to_dict(self) -> dict[str, str]:
        return {"part": self.part, "field": self.field, "rule": self.rule, "message": str(self)}


def violations(errors: Iterable[Exception], mask: Callable[[str], str] = str) -> list[Violation]:
    found: list[Violation] = []
    for error in errors:
        found.extend(_violations(error, mask))
    return found


def _violations(error: Exception, mask: Callable[[str], str]) -> list[Violation]:
    cause = error.__cause__
    if isinstance(error, ParameterValidationError):
        location, name = error.location, error.name
        if "Missing" in type(error).__name__:
            return [Violation(location, name, "required")]
        schema_errors = getattr(cause, "schema_errors", None) or ()
        if schema_errors:
            return [Violation(location, name, _parameter_rule(e)) for e in schema_errors]
        if type(cause).__name__ == "EmptyQueryParameterValue":
            return [Violation(location, name, "must not be empty")]
        return [Violation(location, name, f"cannot be read ({type(cause or error).__name__})")]
    if isinstance(error, MissingRequestBodyError):
        return [Violation("body", "", "required")]
    if isinstance(error, RequestBodyValidationError):
        schema_errors = getattr(cause, "schema_errors", None) or ()
        if schema_errors:
            return [_body_violation(e, mask) for e in schema_errors]
        if type(cause).__name__ == "MediaTypeNotFound":
            return [Violation("body", "", f"content type {getattr(cause, 'mimetype', '')!r} is not one of "
                                          f"{getattr(cause, 'availableMimetypes', [])}")]
        return [Violation("body", "", f"cannot be read as {getattr(cause, 'mimetype', 'its media type')}")]
    if isinstance(error, SecurityValidationError):
        schemes = getattr(cause, "schemes", None)  # [[scheme, ...], ...]: any one list satisfies it
        wanted = " or ".join(" and ".join(map(str, names)) for names in schemes or ())
        return [Violation("security", "", f"no credentials for {wanted}" if wanted else
                          f"refused ({type(cause or error).__name__})")]
    return [Violation("request", "", mask(_first_line(error)))]


def _parameter_rule(error: Any) -> str:
    keyword = str(error.validator)
    template = _PARAMETER_RULES.get(keyword, keyword + " {!r}")
    return template.format(error.validator_value)


def _body_violation(error: Any, mask: Callable[[str], str]) -> Violation:
    where = field_path(list(error.absolute_path))
    keyword = str(error.validator)
    if keyword == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return Violation("body", field_path([*error.absolute_path, missing[0]]), "required")
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(name for name in error.instance if name not in allowed)
        if extra:
            return Violation("body", field_path([*error.absolute_path, extra[0]]),
                             "not allowed (additionalProperties: false)")
    return Violation("body", where, mask(error.message))


def field_path(parts: list[Any]) -> str:
    """['items', 0, 'qty'] -> items[0].qty"""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
