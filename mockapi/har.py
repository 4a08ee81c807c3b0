"""HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): exchanges to a HAR log and back.

Written for people and for Playwright-style replays; read back into mappings for the mock API.
Custom fields start with `_`, as the spec asks: `_mappingId` ties an entry to its mapping.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from mockapi.exchange import Exchange, Headers

CREATOR = {"name": "testbed-mockapi", "version": "1"}


def _pairs(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _content(exchange: Exchange) -> dict[str, Any]:
    mime = exchange.header("Content-Type") or "application/octet-stream"
    content: dict[str, Any] = {"size": len(exchange.response_body), "mimeType": mime}
    try:
        content["text"] = exchange.response_body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(exchange.response_body).decode("ascii")
        content["encoding"] = "base64"
    return content


def entry(exchange: Exchange, mapping_id: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": exchange.target.rstrip("/") + exchange.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(exchange.request_headers),
        "queryString": [{"name": name, "value": value} for name, value in exchange.query],
        "headersSize": -1,
        "bodySize": len(exchange.request_body.encode()),
    }
    if exchange.request_body:
        request["postData"] = {"mimeType": exchange.header("Content-Type", response=False) or "",
                               "text": exchange.request_body}
    found: dict[str, Any] = {
        "startedDateTime": exchange.started,
        "time": round(exchange.elapsed_ms, 3),
        "request": request,
        "response": {
            "status": exchange.status,
            "statusText": exchange.status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(exchange.response_headers),
            "content": _content(exchange),
            "redirectURL": exchange.header("Location") or "",
            "headersSize": -1,
            "bodySize": len(exchange.response_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(exchange.elapsed_ms, 3), "receive": 0},
    }
    if mapping_id:
        found["_mappingId"] = mapping_id
    return found


def har_log(exchanges: Sequence[Exchange], mapping_ids: Sequence[str | None] = ()) -> dict[str, Any]:
    ids = list(mapping_ids) + [None] * (len(exchanges) - len(mapping_ids))
    entries = [entry(exchange, mapping_id) for exchange, mapping_id in zip(exchanges, ids, strict=True)]
    return {"log": {"version": "1.2", "creator": CREATOR, "entries": entries}}


class HarError(ValueError):
    """A HAR document this module cannot read; the message names the entry and field."""


def exchanges(document: object) -> list[Exchange]:
    """The exchanges of a HAR log (entries with a response; each url split into target and url)."""
    log = document.get("log") if isinstance(document, Mapping) else None
    entries = log.get("entries") if isinstance(log, Mapping) else None
    if not isinstance(entries, list):
        raise HarError("not a HAR document: needs log.entries (a list)")
    return [_exchange(item, f"log.entries[{index}]") for index, item in enumerate(entries)]


def _exchange(item: Any, where: str) -> Exchange:
    try:
        request, response = item["request"], item["response"]
        parts = urlsplit(request["url"])
        content = response.get("content") or {}
        text = content.get("text") or ""
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
        return Exchange(
            target=f"{parts.scheme}://{parts.netloc}",
            method=str(request["method"]).upper(),
            url=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            request_headers=tuple((h["name"], h["value"]) for h in request.get("headers", [])),
            request_body=(request.get("postData") or {}).get("text") or "",
            status=int(response["status"]),
            response_headers=tuple((h["name"], h["value"]) for h in response.get("headers", [])),
            response_body=body,
            started=str(item.get("startedDateTime", "")),
            elapsed_ms=float(item.get("time", 0) or 0),
            status_text=str(response.get("statusText", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise HarError(f"{where}: not a HAR 1.2 entry with request and response ({type(exc).__name__}: {exc})") from exc


def mapping_ids(document: Mapping[str, Any]) -> list[str | None]:
    return [item.get("_mappingId") for item in document["log"]["entries"]]
