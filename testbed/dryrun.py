"""Dry run: the exact request the Lambda would send for a template and params, and the verdict
of its destination check, without sending anything.

This module is the one adapter between the testbed and the Lambda's request preparation.
`_prepare` mirrors the Lambda today (render_request, then the destination check, then the
request as `requests` would put it on the wire); when the Lambda exposes
`generic_api_call.handler.prepare_request`, `_prepare` should call it instead, so that what
the dry run shows is by construction what the Lambda sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import requests

from generic_api_call import destinations
from generic_api_call.errors import DestinationRefused, GenericApiCallError, UpstreamConnectionError
from generic_api_call.render import render_request
from generic_api_call.template import Template
from testbed import masking


@dataclass(frozen=True)
class DryRun:
    template: str
    source: str  # the template file, or the table
    method: str
    url: str  # secrets masked
    headers: dict[str, str]  # secrets masked
    body: str | None  # secrets masked
    allowed: bool
    verdict: str  # the destination check's answer, in words
    error: str | None = None  # the render error that would be the execution's Error/Cause

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def placeholder_secrets(name: str) -> str:
    """No stack, no secret store: each secret reads as a placeholder (and is masked anyway)."""
    return f"<secret {name}>"


def dry_run(
    template: Template,
    params: Mapping[str, Any],
    *,
    base_url: str,
    allowed_hosts: str,
    secrets: Callable[[str], str],
    source: str,
) -> DryRun:
    label = f"{template.name} {template.method}"
    try:
        prepared, secret_values = _prepare(template, params, base_url, secrets)
    except GenericApiCallError as exc:
        return DryRun(label, source, template.method, "", {}, None, False, "not checked: the template did not render",
                      error=f"{type(exc).__name__}: {exc}")
    allowed, verdict = _verdict(prepared.url or "", destinations.AllowList.parse(allowed_hosts))
    raw = prepared.body
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw if isinstance(raw, str) else None
    headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in prepared.headers.items()}
    return DryRun(
        template=label,
        source=source,
        method=prepared.method or template.method,
        url=masking.url(prepared.url or "", secret_values),
        headers=masking.headers(headers, secret_values),
        body=masking.text(body, secret_values) if body is not None else None,
        allowed=allowed,
        verdict=verdict,
    )


def _prepare(template: Template, params: Mapping[str, Any], base_url: str,
             secrets: Callable[[str], str]) -> tuple[requests.PreparedRequest, tuple[str, ...]]:
    """The request as the Lambda's http_call.send would put it on the wire (minus the Host pinning)."""
    request = render_request(template, params, base_url, secrets)
    session = requests.Session()
    session.trust_env = False  # as the Lambda: no proxies or .netrc from the environment
    prepared = session.prepare_request(requests.Request(
        request.method, request.url, params=request.query or None, headers=dict(request.headers),
        json=request.json_body if request.has_json_body else None,
        data=request.text_body.encode() if request.text_body is not None else None,
    ))
    return prepared, request.secret_values


def _verdict(url: str, allow: destinations.AllowList) -> tuple[bool, str]:
    try:
        target = destinations.check_url(url, allow)
    except DestinationRefused as exc:
        return False, f"refused: {exc}"
    except UpstreamConnectionError as exc:
        return False, f"cannot resolve here ({exc}); the Lambda resolves it where it runs"
    return True, f"allowed: {target.host}:{target.port} connects to {target.address}"


def render_text(result: DryRun) -> str:
    """Plain text, as an HTTP request reads (the CLI prints this, or JSON)."""
    lines = [f"# {result.template} (from {result.source})"]
    if result.error:
        lines += [f"# would fail before sending: {result.error}"]
        return "\n".join(lines)
    lines.append(f"{result.method} {result.url}")
    lines += [f"{name}: {value}" for name, value in result.headers.items()]
    if result.body is not None:
        lines.append("")
        lines.append(_pretty(result.body))
    lines += ["", f"# destination check: {result.verdict}"]
    return "\n".join(lines)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
