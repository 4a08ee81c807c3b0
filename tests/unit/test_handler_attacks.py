"""The red team's attacks on `lambda_handler` (issue 8), in process, against real local sockets.

Each test drives the handler as Lambda would (event in, result or named exception out),
with a real HTTP server as the upstream; only the secret store is replaced by a dict.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from generic_api_call import limits, secret_store
from generic_api_call.errors import (
    DestinationRefused,
    RenderError,
    UpstreamConnectionError,
    UpstreamUnavailable,
)
from generic_api_call.handler import lambda_handler
from generic_api_call.secrets import MASK
from testbed.deploy.templates import to_item
from testbed.probes import free_port
from tests.servers import RECEIVED, LambdaContext, Upstream, serving

SECRET = "Zq9XkW7pLm3VtR8y"
ODD_SECRET = 'Zq9"X\\kW7é€pLm3'  # JSON-escaped differently from its plain form
SECRETS = {"ssm:/t/key": SECRET, "ssm:/t/odd": ODD_SECRET}


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[str, str]]:
    with serving(Upstream) as first, serving(Upstream) as second:
        yield first, second


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch, upstreams: tuple[str, str]) -> None:
    monkeypatch.setenv("API_BASE_URL", upstreams[0])
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setattr(secret_store, "resolver", lambda: SECRETS.__getitem__)
    RECEIVED.clear()


def invoke(params: dict[str, Any] | None = None, method: str = "GET", **fields: Any) -> dict[str, Any]:
    plain = {"PK": "attack", "SK": method, "url": "{{ base_url }}/", "secrets": list(SECRETS), **fields}
    return lambda_handler({"template": to_item(plain), "params": params or {}}, LambdaContext())


def no_prefix(text: str, secret: str = SECRET, shortest: int = 4) -> None:
    for length in range(shortest, len(secret) + 1):
        assert secret[:length] not in text, f"{length} characters of the secret leaked: ...{text[-80:]!r}"


# --- defect 1: a secret's prefix through truncation -------------------------------------------

def test_the_cause_never_holds_a_prefix_of_the_secret():
    # The message of an unreachable upstream names the URL; a padded path param moves the
    # message cap across the secret's segment, one character at a time.
    url = f"http://127.0.0.1:{free_port()}/{{{{ params.pad }}}}/{{{{ secret('ssm:/t/key') }}}}"
    messages = []
    for pad in range(930, 1000):
        with pytest.raises(UpstreamConnectionError) as caught:
            invoke({"pad": "p" * pad}, url=url)
        messages.append(str(caught.value))
        assert len(messages[-1]) <= limits.MAX_MESSAGE_CHARS
        no_prefix(messages[-1])
    assert any(MASK in message for message in messages)


@pytest.mark.parametrize("step", range(0, len(SECRET) + 2))
def test_a_body_cut_at_the_cap_never_returns_a_prefix(step):
    pad = limits.MAX_BODY_BYTES - len(SECRET) + step - 1
    result = invoke({"n": pad}, url="{{ base_url }}/pad-body?n={{ params.n }}",
                    headers={"X-Token": "{{ secret('ssm:/t/key') }}"})
    assert result["truncated"] is True
    no_prefix(result["body"], shortest=2)


@pytest.mark.parametrize("step", range(-30, len(SECRET) + 2))
def test_a_header_cut_at_the_cap_never_returns_a_prefix(step):
    pad = limits.MAX_HEADER_VALUE_CHARS - len(SECRET) + step - 1
    result = invoke({"n": pad}, url="{{ base_url }}/pad-header?n={{ params.n }}",
                    headers={"X-Token": "{{ secret('ssm:/t/key') }}"})
    no_prefix(result["headers"]["X-Echo"], shortest=2)
    assert len(result["headers"]["X-Echo"]) <= limits.MAX_HEADER_VALUE_CHARS


def test_the_json_escaped_form_of_a_secret_is_masked():
    result = invoke(method="POST", url="{{ base_url }}/echo-body",
                    body={"key": "{{ secret('ssm:/t/odd') }}", "again": "{{ secret('ssm:/t/odd')|tojson }}"})
    sent = RECEIVED[-1]["body"].decode()
    assert json.loads(sent)["key"] == ODD_SECRET  # the upstream got it, JSON-escaped
    assert "Zq9" not in result["body"] and result["body"].count(MASK) == 2, result["body"]


def test_a_secret_in_url_userinfo_is_refused():
    with pytest.raises(Exception, match=r"user:password|must start with") as caught:
        invoke(url="http://user:{{ secret('ssm:/t/key') }}@127.0.0.1/")
    assert type(caught.value).__name__ == "InvalidTemplate"
    assert RECEIVED == []


# --- defect 2: fitting the result always ends -------------------------------------------------

def test_a_huge_non_ascii_content_type_is_bounded_and_fits():
    started = time.monotonic()
    result = invoke(url="{{ base_url }}/ctype")
    print(f"fitted in {time.monotonic() - started:.3f}s")
    assert len(json.dumps(result)) <= limits.MAX_RESULT_CHARS
    assert len(result["contentType"]) <= limits.MAX_HEADER_VALUE_CHARS


# --- defect 4: redirects and secrets ----------------------------------------------------------

def test_a_307_to_another_port_does_not_resend_a_secret_body(upstreams):
    to = f"{upstreams[1]}/landing"
    with pytest.raises(DestinationRefused, match="carries a secret"):
        invoke(method="POST", url="{{ base_url }}/redirect?code=307&to={{ params.to }}", followRedirects=True,
               params={"to": to}, body={"key": "{{ secret('ssm:/t/key') }}"})
    assert [r["path"] for r in RECEIVED] == ["/redirect"]


def test_a_redirect_to_another_port_drops_secret_headers(upstreams):
    to = f"{upstreams[1]}/landing"
    result = invoke(url="{{ base_url }}/redirect?code=302&to={{ params.to }}", followRedirects=True,
                    params={"to": to}, headers={"Authorization": "Bearer {{ secret('ssm:/t/key') }}",
                                                "X-Token": "{{ secret('ssm:/t/key') }}", "X-Plain": "kept"})
    assert result["statusCode"] == 200
    landing = RECEIVED[-1]
    assert landing["path"] == "/landing" and landing["port"] == int(upstreams[1].rsplit(":", 1)[1])
    assert "Authorization" not in landing["headers"] and "X-Token" not in landing["headers"]
    assert landing["headers"]["X-Plain"] == "kept"


def test_a_redirect_within_the_origin_keeps_headers_and_body():
    result = invoke(method="POST", url="{{ base_url }}/redirect?code=307&to=/landing", followRedirects=True,
                    headers={"X-Token": "{{ secret('ssm:/t/key') }}"}, body={"key": "{{ secret('ssm:/t/key') }}"})
    assert result["statusCode"] == 200
    assert RECEIVED[-1]["headers"]["X-Token"] == SECRET and SECRET in RECEIVED[-1]["body"].decode()


# --- defect 5: unusual upstream answers -------------------------------------------------------

@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "idna", "rot13"])
def test_an_odd_charset_is_decoded_as_utf8(charset):
    result = invoke({"cs": charset}, url="{{ base_url }}/charset?cs={{ params.cs }}")
    assert result["statusCode"] == 200 and result["body"] == "hello"


def test_json_nested_too_deep_is_returned_as_text():
    result = invoke(url="{{ base_url }}/deep")
    assert isinstance(result["body"], str) and result["body"].startswith("[[[")


def test_an_invalid_retry_after_is_ignored():
    with pytest.raises(UpstreamUnavailable):
        invoke(url="{{ base_url }}/retry-after")


# --- defect 6: params that crashed or were retried ----------------------------------------------

@pytest.mark.parametrize(("fields", "params", "slot"), [
    ({"headers": {"X-V": "{{ params.v }}"}}, {"v": "5 €"}, "headers.X-V"),
    ({"headers": {"X-V": "{{ params.v }}"}}, {"v": "日本"}, "headers.X-V"),
    ({"headers": {"X-V": "{{ params.v }}"}}, {"v": "\u2028x"}, "headers.X-V"),
    ({"headers": {"X-V": "{{ params.v }}"}}, {"v": "\x85x"}, "headers.X-V"),
    ({"headers": {"X-V": "{{ params.v }}"}}, {"v": "\xa0x"}, "headers.X-V"),
    ({"query": {"q": "{{ params.v }}"}}, {"v": "a\udc00"}, "query.q"),
    ({"body": "t={{ params.v }}", "SK": "POST"}, {"v": "a\ud800"}, "body"),
])
def test_an_unsendable_param_is_a_render_error_naming_the_slot(fields, params, slot):
    method = fields.pop("SK", "GET")
    with pytest.raises(RenderError, match=rf"^{slot}: "):
        invoke(params, method=method, **fields)
    assert RECEIVED == []


def test_params_nested_deep_are_fine_when_not_read():
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"d": deep}
    assert invoke({"deep": deep, "id": "1"}, url="{{ base_url }}/x/{{ params.id }}")["statusCode"] == 200


def test_params_nested_deep_are_a_render_error_when_read():
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(RenderError, match="body"):
        invoke({"deep": deep}, method="POST", body={"v": "{{ params.deep }}"})
