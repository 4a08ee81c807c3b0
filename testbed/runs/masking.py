"""Mask credentials in what the testbed shows a person: a journal, a log, an execution's result.

Two rules, both applied to everything shown:
1. Known values: the template's own secrets (its `secrets` list, resolved through the secret
   store the Lambda uses), masked by the Lambda's own `Secrets` in every form the Lambda
   knows (as is, percent-encoded, JSON-escaped...), wherever they are: a path segment, any
   header, a body, a log line, a Cause.
2. Names: values under names that usually carry credentials (Authorization, X-Api-Key,
   ?token=, user:password@), for what rule 1 cannot know (a secret not in the template's list,
   one that could not be resolved, a value rotated since the execution).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from generic_api_call.errors import GenericApiCallError
from generic_api_call.secrets import MASK, Resolver, Secrets

_SECRET_NAME = re.compile(
    r"(auth|token|secret|passw|pwd|api[-_]?key|apikey|session|cookie|signature|sig$|credential|private)",
    re.IGNORECASE,
)
BY_NAMES_ONLY = "credential-like header and query names are masked, other places may show a secret in clear"


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def url(value: str) -> str:
    """`value` with user:password@ and credential-like query values masked."""
    try:
        return _url_by_names(value)
    except ValueError:  # urllib cannot read it (a bracket in the host, a lone surrogate): mask the query whole
        head, mark, _ = value.partition("?")
        return re.sub(r"//[^/]*@", f"//{MASK}@", head) + (f"?{MASK}" if mark else "")


def _url_by_names(value: str) -> str:
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


@dataclass(frozen=True)
class Masker:
    """Both rules for one execution. `note` says what could not be masked by value, and why."""

    secrets: Secrets = field(default_factory=Secrets.none)
    note: str | None = None

    def text(self, value: str) -> str:
        return self.secrets.mask(value)

    def data(self, value: Any) -> Any:
        """Every string of JSON-like data (its depth bounded by the caller, see stored_json.py)."""
        return self.secrets.mask_data(value)

    def url(self, value: str) -> str:
        # By value first, as sent; then by name (which decodes and re-encodes the query); then
        # by value again, for a form that re-encoding produced.
        return self.text(url(self.text(value)))

    def headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {self.text(str(name)): self.text(value) for name, value in headers(values).items()}

    def body(self, value: str, limit: int, cut_before: bool = False) -> str:
        """Masked, then cut at `limit`; `cut_before`: the text was already cut (the journal caps
        bodies), so a secret's prefix may end it. No cut leaves a partial secret."""
        masked = self.text(value)
        if cut_before:
            masked = self.secrets.mask_tail(masked.rstrip("\ufffd"))
        if len(masked) <= limit:
            return masked
        return f"{self.secrets.mask_tail(masked[:limit])}… ({len(masked) - limit} more characters)"


def by_names(reason: str) -> Masker:
    """Rule 2 only, saying why."""
    return Masker(note=f"secrets not masked by value ({reason}): {BY_NAMES_ONLY}")


def resolved(template_name: str, allowed: Iterable[str], resolver: Resolver) -> Masker:
    """Rule 1 with every secret the template may use (resolved now), and rule 2."""
    names = sorted(set(allowed))
    secrets = Secrets(template_name, names, resolver)
    failed: list[str] = []
    for name in names:
        try:
            secrets.value(name)
        except GenericApiCallError as exc:  # the store's errors name the secret, never a value
            failed.append(str(exc))
    if failed:
        return Masker(secrets, f"secrets not masked by value ({'; '.join(failed)}): {BY_NAMES_ONLY}")
    return Masker(secrets)
