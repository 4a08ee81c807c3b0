"""Answers from an OpenAPI document's examples when no stub matches (`--openapi FILE`, Prism-like).

The request's operation is matched as the contract check matches it; the response is chosen by
the `Prefer` header (`Prefer: code=409, example=duplicate`), else the operation's lowest 2xx
(else `default`), with its first example (`examples`, else `example`, else the schema's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mockapi.capture import CapturedRequest
from mockapi.contract import Document

_PREFER = re.compile(r"\b(code|example)=([^,;\s]+)")
_MISSING = object()


@dataclass(frozen=True)
class ExampleResponse:
    status: int
    content_type: str | None
    body: bytes


class ExamplesResponder:
    def __init__(self, document: Document) -> None:
        self.document = document

    def answer(self, captured: CapturedRequest, host: str) -> web.Response | None:
        """The mock API's hook: the example answer to a request no stub matched, or None."""
        query = f"?{captured.raw_query}" if captured.raw_query else ""
        found = self.respond(captured.method, f"http://{host}{captured.raw_path}{query}", captured.headers)
        if found is None:
            return None
        headers = {"Content-Type": found.content_type} if found.content_type and found.body else {}
        return web.Response(status=found.status, headers=headers, body=found.body or None)

    def respond(self, method: str, url: str, headers: Mapping[str, str]) -> ExampleResponse | None:
        """The example answer, or None when the request hits no operation (or no such response)."""
        operation = self.document.match(method, url)
        if operation is None:
            return None
        raw = self.document.data["paths"][operation.path][operation.method.lower()]
        responses = self._resolve(raw.get("responses") or {})
        prefer = dict(_PREFER.findall(next((v for k, v in headers.items() if k.lower() == "prefer"), "")))
        code = prefer.get("code") or _default_code(responses)
        if code is None or code not in responses:
            return None
        response = self._resolve(responses[code])
        status = int(code) if code.isdigit() else 200
        content = self._resolve(response.get("content") or {})
        if not content:
            return ExampleResponse(status, None, b"")
        media_type = "application/json" if "application/json" in content else next(iter(content))
        value = self._example(self._resolve(content[media_type]), prefer.get("example"))
        if value is _MISSING:
            return ExampleResponse(status, media_type, b"")
        text = value if isinstance(value, str) and "json" not in media_type else json.dumps(value)
        return ExampleResponse(status, media_type, text.encode("utf-8"))

    def _example(self, media: Mapping[str, Any], name: str | None) -> Any:
        examples = self._resolve(media.get("examples") or {})
        if examples:
            chosen = examples.get(name) if name else next(iter(examples.values()))
            if chosen is not None:
                return self._resolve(chosen).get("value", _MISSING)
        if "example" in media:
            return media["example"]
        schema = self._resolve(media.get("schema") or {})
        return schema.get("example", _MISSING)

    def _resolve(self, node: Any) -> Any:
        """Follow local `$ref`s (#/components/...)."""
        for _ in range(16):  # a ref cycle stops here
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
                return node
            target: Any = self.document.data
            for part in node["$ref"][2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            node = target
        return node


def _default_code(responses: Mapping[str, Any]) -> str | None:
    successes = sorted(code for code in responses if code.isdigit() and code.startswith("2"))
    return successes[0] if successes else ("default" if "default" in responses else None)
