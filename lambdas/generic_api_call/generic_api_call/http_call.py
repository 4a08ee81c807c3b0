"""Send a rendered request with `requests` and shape the response for Step Functions.

One call, no retries: retrying is the state machine's job (one retry layer). Everything
that can grow is capped: the time (one deadline for connect, redirects and the body), the
body (read as a stream, counted after decompression), the result (well under the 256 KiB
that Step Functions accepts), and error messages (see errors.py).
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from . import destinations
from .errors import UpstreamConnectionError, UpstreamThrottled, UpstreamTimeout, UpstreamUnavailable
from .render import RenderedRequest

CONNECT_TIMEOUT_SECONDS = 3.05  # slightly above a multiple of 3 s, the TCP retransmit window
MAX_BODY_BYTES = 128 * 1024  # response body kept, after decompression
MAX_RESULT_CHARS = 192 * 1024  # the whole result as JSON; Step Functions' limit is 256 KiB
MAX_HEADERS = 50
MAX_HEADER_VALUE_CHARS = 1024
MAX_REDIRECTS = 3
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class CallPolicy:
    timeout_seconds: float  # one deadline for the whole call
    allow: destinations.AllowList | None  # None: no destination check (local unit tests only)
    idempotent: bool = False  # the template says POST/PATCH may be retried too
    follow_redirects: bool = False


def send(request: RenderedRequest, policy: CallPolicy) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + policy.timeout_seconds
    method, url, headers = request.method, request.url, dict(request.headers)
    query: Any = request.query or None
    json_body = request.json_body if request.has_json_body else None
    data = request.text_body.encode() if request.text_body is not None else None
    target = _check(url, policy)
    # Headers carrying a secret are credentials too: never forwarded to another host.
    secret_headers = [name for name, value in headers.items() if any(s and s in value for s in request.secret_values)]
    for _hop in range(MAX_REDIRECTS + 1):
        response, raw, truncated = _exchange(method, url, headers, query, json_body, data, deadline, target)
        location = response.headers.get("Location")
        if not (policy.follow_redirects and response.status_code in REDIRECT_STATUSES and location):
            break
        next_url = urljoin(response.url, location)
        if policy.allow is not None:  # each hop is checked again, before it is taken
            target = destinations.redirect_target(response.url, location, policy.allow)
        headers = _redirect_headers(headers, url, next_url, secret_headers)
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, json_body, data = "GET", None, None  # what browsers and requests do
        url, query = next_url, None  # the Location carries its own query
    _raise_if_retryable(response, method, policy.idempotent, deadline)
    return _result(response, raw, truncated, started)


def _redirect_headers(headers: dict[str, str], from_url: str, to_url: str, sensitive: list[str]) -> dict[str, str]:
    kept = destinations.strip_credentials(headers, _host(from_url), _host(to_url), sensitive)
    if urlsplit(from_url).scheme == "https" and urlsplit(to_url).scheme != "https":
        drop = destinations.CREDENTIAL_HEADERS | {name.lower() for name in sensitive}
        kept = {name: value for name, value in kept.items() if name.lower() not in drop}  # no clear text
    return kept


def _check(url: str, policy: CallPolicy) -> destinations.Target | None:
    # Resolve once, check every address; the request then connects to the checked one.
    return destinations.check_url(url, policy.allow) if policy.allow is not None else None


def _exchange(
    method: str, url: str, headers: dict[str, str], query: Any, json_body: Any, data: bytes | None,
    deadline: float, target: destinations.Target | None,
) -> tuple[requests.Response, bytes, bool]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise UpstreamTimeout(f"{method} {_origin(url)}: no time left for the request")
    session = _session(target)
    try:
        with session:
            response = session.request(
                method, url, params=query, headers=headers, json=json_body, data=data,
                timeout=(min(CONNECT_TIMEOUT_SECONDS, remaining), remaining),
                allow_redirects=False,  # redirects are followed above, each hop checked again
                stream=True,
            )
            with response:
                raw, truncated = _read_capped(response, deadline)
    # `from None`: the requests exception's text holds the full URL, query (and secrets) included.
    except (requests.Timeout, urllib3.exceptions.TimeoutError):  # before ConnectionError: ConnectTimeout is both
        raise UpstreamTimeout(
            f"{method} {_origin(url)} timed out (deadline {remaining:.1f}s)") from None
    except requests.ConnectionError as exc:
        raise UpstreamConnectionError(f"{method} {_origin(url)}: {type(exc).__name__}") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:  # read1 raises urllib3's own
        raise UpstreamConnectionError(f"{method} {_origin(url)}: {type(exc).__name__}") from None
    return response, raw, truncated


def _session(target: destinations.Target | None) -> requests.Session:
    if target is not None:
        return destinations.pinned_session(target)
    session = requests.Session()
    session.trust_env = False  # proxies or .netrc from the environment must not reroute calls
    return session


def _read_capped(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES (after decompression) and stop at the deadline.

    read1 returns as soon as some data arrived, so a body dripped a byte at a time meets the
    deadline check between reads (iter_content would wait to fill its chunk first), and its
    `max_length` bounds decompression, so a gzip bomb never inflates past the cap.
    """
    chunks: list[bytes] = []
    size = 0
    while chunk := response.raw.read1(16 * 1024, decode_content=True):
        if time.monotonic() > deadline:
            raise requests.Timeout("body not received before the deadline")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


def _raise_if_retryable(response: requests.Response, method: str, idempotent: bool, deadline: float) -> None:
    """429/502/503/504 raise a retried error, for requests that are safe to repeat."""
    if response.status_code not in RETRYABLE_STATUSES:
        return
    if method not in IDEMPOTENT_METHODS and not idempotent:
        return  # a POST may have had effects: report the status, do not retry
    where = f"{method} {_origin(response.url)} answered HTTP {response.status_code}"
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    if wait is not None:
        left = deadline - time.monotonic()
        if wait > left:
            raise UpstreamThrottled(f"{where}; Retry-After {wait:g}s is beyond the deadline ({left:.1f}s left)")
        # Honour it here, so the state machine's next attempt comes after it.
        time.sleep(wait)
    raise UpstreamUnavailable(where, response.status_code)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _result(response: requests.Response, raw: bytes, truncated: bool, started: float) -> dict[str, Any]:
    content_type = response.headers.get("Content-Type", "")
    result: dict[str, Any] = {
        "statusCode": response.status_code,
        "headers": _capped_headers(response.headers),
        "body": _decode_body(raw, content_type, response.encoding),
        "contentType": content_type,
        "elapsedMs": round((time.monotonic() - started) * 1000),
    }
    if truncated:
        result["truncated"] = True
    return _fit(result)


def _capped_headers(headers: Any) -> dict[str, str]:
    items = list(headers.items())[:MAX_HEADERS]
    return {name: value[:MAX_HEADER_VALUE_CHARS] for name, value in items}


def _fit(result: dict[str, Any]) -> dict[str, Any]:
    """Keep the result's JSON under MAX_RESULT_CHARS (escaping can make a body 6x larger)."""
    if len(json.dumps(result)) <= MAX_RESULT_CHARS:
        return result
    body = result["body"] if isinstance(result["body"], str) else json.dumps(result["body"])
    fitted = {**result, "body": "", "truncated": True}
    room = MAX_RESULT_CHARS - len(json.dumps(fitted))
    body = body[:room]
    while len(json.dumps(body)) - 2 > room:
        body = body[: int(len(body) * 0.8)]
    return {**fitted, "body": body}


def _decode_body(raw: bytes, content_type: str, encoding: str | None) -> Any:
    text = raw.decode(encoding or "utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except ValueError:
            return text  # a JSON content type with a body that does not parse: keep the text
    return text


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    """Scheme, host and path only: the query may carry values that must not reach logs."""
    return url.split("?", 1)[0]
