"""Mask secrets in what the testbed shows a person: URLs, headers and bodies.

Known secret values (those a template pulled from the secret store) are masked with the
Lambda's own redaction; on top of that, values under names that usually carry credentials
(Authorization, X-Api-Key, ?token=, user:password@) are masked, since a journal or a log
does not say which values were secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from generic_api_call import redact

MASK = redact.MASK
_SECRET_NAME = re.compile(
    r"(auth|token|secret|passw|pwd|api[-_]?key|apikey|session|cookie|signature|sig$|credential|private)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def url(value: str, secret_values: Iterable[str] = ()) -> str:
    """`value` with user:password@ and credential-like query values masked."""
    forms = redact.forms(secret_values)
    parts = urlsplit(redact.text(value, forms))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs], safe="[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def headers(values: Mapping[str, str], secret_values: Iterable[str] = ()) -> dict[str, str]:
    forms = redact.forms(secret_values)
    return {name: MASK if is_secret_name(name) else redact.text(str(value), forms) for name, value in values.items()}


def text(value: str, secret_values: Iterable[str] = ()) -> str:
    return redact.text(value, redact.forms(secret_values))


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value) - limit} more characters)"
