"""One recorded request and its response: what a recording keeps, and what HAR and mappings are made of.

Recording (mockapi/recording/), HAR files (mockapi/har.py) and drift checks all speak this one
shape, so a HAR loaded for replay becomes mappings by the same rules as a live recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    target: str  # scheme://host[:port][/base], what the url is relative to
    method: str
    url: str  # path and query as sent, percent-encoded
    request_headers: Headers
    request_body: str  # text ("" when none)
    status: int
    response_headers: Headers
    response_body: bytes
    started: str  # UTC ISO 8601
    elapsed_ms: float
    status_text: str = ""

    @property
    def path(self) -> str:
        return self.url.split("?", 1)[0]

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def header(self, name: str, response: bool = True) -> str | None:
        pairs = self.response_headers if response else self.request_headers
        return next((value for key, value in pairs if key.lower() == name.lower()), None)

    @property
    def response_media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()


def is_json_media_type(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")
