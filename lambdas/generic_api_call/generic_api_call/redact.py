"""Remove secret values from anything that leaves the Lambda: its result and its errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
MIN_SECRET_CHARS = 4  # masking a 1-3 character "secret" would mangle unrelated text


def forms(values: Iterable[str]) -> list[str]:
    """Each value as sent: plain, percent-encoded (path, query) and JSON-escaped."""
    found: set[str] = set()
    for value in values:
        if len(value) < MIN_SECRET_CHARS:
            continue
        escaped = value.encode("unicode_escape").decode()
        found.update({value, quote(value), quote(value, safe=""), quote_plus(value), escaped})
    return sorted(found, key=len, reverse=True)  # longest first: a form may contain another


def text(value: str, secret_forms: list[str]) -> str:
    for form in secret_forms:
        value = value.replace(form, MASK)
    return value


def data(value: Any, secret_forms: list[str]) -> Any:
    """Redact every string (keys included) in JSON-like data."""
    if not secret_forms:
        return value
    if isinstance(value, str):
        return text(value, secret_forms)
    if isinstance(value, dict):
        return {text(str(k), secret_forms): data(v, secret_forms) for k, v in value.items()}
    if isinstance(value, list):
        return [data(v, secret_forms) for v in value]
    return value
