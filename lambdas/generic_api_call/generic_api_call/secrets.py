"""Secrets, one policy: allow-list, then resolve, then mask. Every caller goes through `Secrets`.

1. Allow-list: a template may name only the secrets listed in its `secrets` field (checked
   when the template is validated, see compiling.py, and again here at run time).
2. Resolve: each name is fetched once per invocation (secret_store.py reads AWS), and every
   value fetched is remembered, so it can be masked.
3. Mask: every text that leaves the Lambda (result, error message, log line, dry run) goes
   through `mask`, every number, true, false or null of a JSON answer through `mask_scalar`,
   and every cut through `cut`, which masks BEFORE it shortens and then removes a partial
   secret left at the cut. A cut never returns a secret's prefix.

What a template may do with a secret value: place it whole, optionally through `|tojson`
or `|urlencode` (compiling.py refuses anything else at compile time: no slicing, comparing,
concatenating with `~`, or other filters). So a secret leaves the Lambda only in the forms
listed in `forms`, and those are the forms masked. URL userinfo (`user:pass@host`, which
requests would turn into a base64 Basic header) is refused by destinations.py.

Limits: masking finds these exact forms only. An upstream that transforms a secret it was
sent (base64, reversal, lower-case percent-encoding...) and returns it can get it past the
mask; the upstreams are the allow-listed hosts, trusted with the secrets they are sent.
Values under MIN_SECRET_CHARS are refused: masking them would mangle unrelated text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from .errors import RenderError, SecretNotAllowed

MASK = "[REDACTED]"
MIN_SECRET_CHARS = 4
CUT_MARK = " ...[truncated]"

Resolver = Callable[[str], str]


def forms(value: str) -> set[str]:
    """Every form a value may be sent (or echoed) in: what the template may apply (nothing,
    |tojson, |urlencode), then what its slot applies (nothing for a header or text body,
    percent-encoding for a path segment or a query value, JSON escaping in a map body)."""
    placed = {value, quote(value), _json_inner(value), _html_safe(_json_inner(value))}  # as is, |urlencode, |tojson
    found: set[str] = set()
    for text in placed:
        found.update({
            text,
            quote(text, safe=""),  # a URL path segment
            quote_plus(text),  # a query value (requests' urlencode)
            _json_inner(text),  # a map body leaf, requests' JSON (ASCII escapes)
            _json_inner(text, ascii_only=False),
        })
    # An upstream that echoes the bytes it received is read back by the Lambda in its own
    # charset: headers (and text/* without a charset) as latin-1, other bodies as UTF-8. So
    # the UTF-8 bytes of a form read as latin-1, and a header's latin-1 bytes read as UTF-8
    # (non-ASCII letters become U+FFFD, the rest stays in clear), are forms too.
    for text in list(found):
        found.add(text.encode("utf-8").decode("latin-1"))
        if _is_latin1(text):  # else it could not have been sent in a header
            found.add(text.encode("latin-1").decode("utf-8", errors="replace"))
    return {form for form in found if form}


def _is_latin1(text: str) -> bool:
    return all(ord(char) < 256 for char in text)


def _json_inner(text: str, ascii_only: bool = True) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


def _html_safe(text: str) -> str:
    """Jinja's |tojson also escapes these, for HTML."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


class Secrets:
    """The secrets of one invocation: which names may be used, their values, and masking."""

    def __init__(self, template_name: str, allowed: Iterable[str], resolver: Resolver | None) -> None:
        self._template_name = template_name
        self._allowed = frozenset(allowed)
        self._resolver = resolver
        self._values: dict[str, str] = {}
        self._forms: list[str] = []  # longest first: a form may contain another
        # Time spent waiting on the secret store (a network call; on a cold worker, creating the
        # SSM client too): the render deadline bounds the template's own work, not this wait.
        # At most one lookup per allowed name, so a template cannot stretch its deadline at will.
        self.waited_seconds = 0.0

    @classmethod
    def none(cls) -> Secrets:
        """No secrets at all: masking is a no-op."""
        return cls("", (), None)

    def check_allowed(self, name: object) -> str:
        if not isinstance(name, str) or name not in self._allowed:
            raise SecretNotAllowed(
                f"template {self._template_name!r} may not use secret {name!r}: it is not in its 'secrets' list"
            )
        return name

    def value(self, name: object) -> str:
        """Allow-list, then resolve (once per name), then remember the value for masking."""
        allowed = self.check_allowed(name)
        if allowed not in self._values:
            value = self._resolve(allowed)
            if len(value) < MIN_SECRET_CHARS:
                raise RenderError(
                    f"secret {allowed!r} is shorter than {MIN_SECRET_CHARS} characters: too short to mask safely")
            self._values[allowed] = value
            found = set(self._forms)
            found.update(forms(value))
            self._forms = sorted(found, key=len, reverse=True)
        return self._values[allowed]

    def _resolve(self, name: str) -> str:
        if self._resolver is None:
            raise RenderError("no secret resolver")
        started = time.monotonic()
        try:
            value = self._resolver(name)
        finally:
            self.waited_seconds += time.monotonic() - started
        if not isinstance(value, str):
            raise RenderError(f"secret {name!r} has no string value")
        return value

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self._values.values())

    def carries_secret(self, text: str | bytes | None) -> bool:
        """Does this text hold a secret, in any of the forms it is sent in?"""
        if not text or not self._forms:
            return False
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return any(form in text for form in self._forms)

    def mask(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, MASK)
        return text

    def mask_tail(self, text: str) -> str:
        """Mask a secret's prefix at the end of a text that was cut (e.g. a body read up to a cap).

        The longest prefix of ANY form is removed: a short prefix of one form (the first
        character of `a%2Fa...`) can end the text while a longer prefix of another (`a/a`)
        ends there too, and removing only the short one would return the rest in clear.
        """
        longest = 0
        for form in self._forms:
            for length in range(min(len(form) - 1, len(text)), longest, -1):
                if text.endswith(form[:length]):
                    longest = length
                    break
        return text[:-longest] + MASK if longest else text

    def cut(self, text: str, limit: int, mark: str = CUT_MARK) -> str:
        """At most `limit` characters, masked before the cut, with no partial secret at the end."""
        text = self.mask(text)
        if len(text) <= limit:
            return text
        kept = self.mask_tail(text[: max(limit - len(mark) - len(MASK), 0)])
        return (kept + mark)[:limit]

    def mask_data(self, value: Any) -> Any:
        """Mask every string (map keys included) and every other scalar (see mask_scalar) in JSON-like
        data (depth bounded by the caller)."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask(str(k)): self.mask_data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_data(v) for v in value]
        return self.mask_scalar(json.dumps(value), value)

    def mask_scalar(self, text: str, value: Any) -> Any:
        """A JSON number, true, false or null, given the text it was written as: MASK when that text
        carries a secret. A digits-only secret placed unquoted in a JSON string body is sent as a
        number, and comes back as one from an upstream that echoes it. Masked whole: it cannot be
        cut like a string, and its other digits stay the upstream's."""
        return MASK if self.carries_secret(text) else value
