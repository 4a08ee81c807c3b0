"""Send a Request with `requests` and shape the answer for Step Functions.

One call, no retries: retrying is the state machine's job (one retry layer). Everything
that can grow is bounded (limits.py): the time (one deadline for connect, redirects and the
body), the body (read as a stream, counted after decompression), every field of the result.
Secrets are masked before anything is cut (secrets.Secrets.cut). Any answer an upstream can
send ends in a result or a named error:

- a charset that is unknown or not a text encoding (`base64`, `idna`...): decoded as UTF-8
  with replacement characters;
- a JSON content type whose body is not strict JSON (does not parse, NaN, Infinity, 1e999,
  an escaped lone surrogate) or nests over MAX_JSON_DEPTH: the text;
- a lone surrogate in decoded text (utf-7, unicode_escape): U+FFFD, so the result is valid JSON;
- a `Retry-After` that is neither ASCII digits nor an HTTP date: ignored.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from . import destinations, pinning
from .errors import (
    DestinationRefused,
    UpstreamConnectionError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .limits import MAX_BODY_BYTES, MAX_HEADER_VALUE_CHARS, MAX_REDIRECTS, capped_headers, fit_result, json_depth_within
from .request import Request
from .secrets import Secrets

CONNECT_TIMEOUT_SECONDS = 3.05  # slightly above a multiple of 3 s, the TCP retransmit window
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass(frozen=True)
class CallPolicy:
    timeout_seconds: float  # one deadline for the whole call
    allow: destinations.AllowList | None  # None: no destination check (local unit tests only)
    idempotent: bool = False  # the template says POST/PATCH may be retried too
    follow_redirects: bool = False


def send(request: Request, policy: CallPolicy, target: destinations.Target | None = None) -> dict[str, Any]:
    """Send the request (to `target`, already checked, when given) and return the masked, bounded result."""
    started = time.monotonic()
    deadline = started + policy.timeout_seconds
    secrets = request.secrets
    method, url, headers, body = request.method, request.url, dict(request.headers), request.body
    if target is None:
        target = _check(url, policy)
    for _hop in range(MAX_REDIRECTS + 1):
        response, raw, truncated = _exchange(method, url, headers, body, deadline, target)
        location = response.headers.get("Location")
        if not (policy.follow_redirects and response.status_code in REDIRECT_STATUSES and location):
            break
        next_url = destinations.resolve_redirect(response.url or url, location)  # computed once, here
        target = _check(next_url, policy)  # each hop is checked again, before it is taken
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, body = "GET", None  # what browsers and requests do
            headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        headers, body = _redirect_request(url, next_url, headers, body, secrets)
        url = next_url
    _raise_if_retryable(response, method, policy.idempotent, deadline)
    return _result(response, raw, truncated, started, secrets)


def _redirect_request(
    from_url: str, to_url: str, headers: dict[str, str], body: str | None, secrets: Secrets,
) -> tuple[dict[str, str], str | None]:
    """What may follow a redirect: all of it within one origin (scheme, host, port); to another
    origin no credential header, no header carrying a secret, and never a body carrying one."""
    if destinations.origin_of(from_url) == destinations.origin_of(to_url):
        return headers, body
    if secrets.carries_secret(body):
        raise DestinationRefused(
            f"redirect from {destinations.origin_of(from_url)} to {destinations.origin_of(to_url)} refused: "
            "it would re-send a body that carries a secret to another origin")
    kept = {
        name: value for name, value in headers.items()
        if name.lower() not in CREDENTIAL_HEADERS and not secrets.carries_secret(value)
    }
    return kept, body


def _check(url: str, policy: CallPolicy) -> destinations.Target | None:
    # Resolve once, check every address; the request then connects to the checked one.
    return destinations.check_url(url, policy.allow) if policy.allow is not None else None


def _exchange(
    method: str, url: str, headers: dict[str, str], body: str | None, deadline: float,
    target: destinations.Target | None,
) -> tuple[requests.Response, bytes, bool]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise UpstreamTimeout(f"{method} {_origin(url)}: no time left for the request")
    session = _session(target, deadline)
    try:
        with session:
            response = session.request(
                method, url, headers=headers, data=None if body is None else body.encode("utf-8"),
                timeout=(min(CONNECT_TIMEOUT_SECONDS, remaining), remaining),
                allow_redirects=False,  # redirects are followed above, each hop checked again
                stream=True,
            )
            with response:
                raw, truncated = _read_capped(response, deadline)
    # `from None`: the requests exception's text holds the full URL, query (and secrets) included.
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:  # read1 raises urllib3's own
        # Past the deadline any failure is the timeout: the watchdog (pinning.py) shut the
        # connection down, which the read reports as a disconnection.
        if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError) or time.monotonic() >= deadline:
            raise UpstreamTimeout(f"{method} {_origin(url)} timed out (deadline {remaining:.1f}s)") from None
        raise UpstreamConnectionError(f"{method} {_origin(url)}: {type(exc).__name__}") from None
    return response, raw, truncated


def _session(target: destinations.Target | None, deadline: float) -> requests.Session:
    if target is not None:
        return pinning.pinned_session(target, deadline)
    session = pinning.OwnRedirectsSession()
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
    if time.monotonic() >= deadline:  # the watchdog ended the body early: it is not the whole body
        raise requests.Timeout("body not received before the deadline")
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
    """Retry-After as seconds: ASCII delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone accepts '²', which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _result(
    response: requests.Response, raw: bytes, truncated: bool, started: float, secrets: Secrets,
) -> dict[str, Any]:
    content_type = response.headers.get("Content-Type", "")
    headers, headers_cut = capped_headers(response.headers, secrets)
    result: dict[str, Any] = {
        "statusCode": response.status_code,
        "headers": headers,
        "body": _body(raw, truncated, content_type, response.encoding, secrets),
        "contentType": secrets.cut(content_type, MAX_HEADER_VALUE_CHARS),
        "elapsedMs": round((time.monotonic() - started) * 1000),
    }
    if truncated or headers_cut:
        result["truncated"] = True
    return fit_result(result, secrets)


def _body(raw: bytes, truncated: bool, content_type: str, encoding: str | None, secrets: Secrets) -> Any:
    text = decode(raw, encoding)
    if truncated:
        # The cap may split a character, and a secret: neither half is returned.
        return secrets.mask_tail(secrets.mask(text.rstrip("\ufffd")))
    if "json" in content_type.lower():
        try:
            # Each number is checked as the text the upstream wrote: a float would round away the
            # tail of a secret sent as a number and return its leading digits in clear.
            parsed = json.loads(
                text, parse_constant=_not_json,
                parse_float=lambda number: secrets.mask_scalar(number, _finite_float(number)),
                parse_int=lambda number: secrets.mask_scalar(number, int(number)),
            )
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")  # "\ud800": an escaped lone surrogate
        except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
            parsed = text  # a JSON content type with a body that is not strict JSON: keep the text
        if json_depth_within(parsed):
            return secrets.mask_data(parsed)
    return secrets.mask(text)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # Python's json reads NaN and Infinity; JSON has neither


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise ValueError(f"{text} is out of range")
    return number


def decode(raw: bytes, encoding: str | None) -> str:
    """Bytes to valid Unicode text with the declared charset when it is a known text encoding, else UTF-8.

    Valid: a few codecs (utf-7, unicode_escape) can decode to a lone surrogate, which the
    result's JSON cannot carry; each becomes U+FFFD.
    """
    text = None
    try:
        if encoding and getattr(codecs.lookup(encoding), "_is_text_encoding", True):  # base64, rot13...: not text
            text = raw.decode(encoding, errors="replace")
    except (LookupError, UnicodeError, ValueError):  # unknown charset; idna raises even with "replace"
        pass
    if text is None:
        return raw.decode("utf-8", errors="replace")
    return text.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")


def _origin(url: str) -> str:
    """Scheme, host and path only: the query may carry values that must not reach logs."""
    return url.split("?", 1)[0]
