"""The request model: what render.py produces and http_call.py sends, byte for byte.

`url` is final (the template's query map already encoded into it, as requests would), and
`body` is the one body field: the text sent (UTF-8), JSON bodies already serialised with
their Content-Type set. So a dry run that prints a Request shows exactly what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from .secrets import Secrets


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    # The secrets this request was rendered with: its values must be masked in every output.
    secrets: Secrets = field(default_factory=Secrets.none, compare=False, repr=False)

    def masked(self) -> dict[str, Any]:
        """The request as data, with every secret value masked (for logs and dry runs)."""
        return {
            "method": self.method,
            "url": self.secrets.mask(self.url),
            "headers": {name: self.secrets.mask(value) for name, value in self.headers.items()},
            "body": None if self.body is None else self.secrets.mask(self.body),
        }

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


def with_query(url: str, query: dict[str, str | list[str]]) -> str:
    """Append the template's query map the way requests does (`params=`): urlencode, doseq."""
    if not query:
        return url
    parts = urlsplit(url)
    encoded = urlencode(query, doseq=True)
    return urlunsplit(parts._replace(query=f"{parts.query}&{encoded}" if parts.query else encoded))
