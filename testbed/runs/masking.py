"""Mask credentials in what the testbed shows a person: URLs and headers from a journal or log.

Known secret values (those a template pulled from the secret store) are masked by the
Lambda's own `secrets` module before the testbed sees a request (dry run); a journal or a log
does not say which values were secrets, so values under names that usually carry credentials
(Authorization, X-Api-Key, ?token=, user:password@) are masked here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "[REDACTED]"  # as the Lambda's secrets.MASK
_SECRET_NAME = re.compile(
    r"(auth|token|secret|passw|pwd|api[-_]?key|apikey|session|cookie|signature|sig$|credential|private)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def url(value: str) -> str:
    """`value` with user:password@ and credential-like query values masked."""
    parts = urlsplit(value)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs], safe="[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def headers(values: Mapping[str, str]) -> dict[str, str]:
    return {name: MASK if is_secret_name(name) else str(value) for name, value in values.items()}


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value) - limit} more characters)"
