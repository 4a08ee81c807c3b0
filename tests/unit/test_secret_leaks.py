"""Secrets that left the Lambda in clear past the mask (issue 20, defects 1 and 2).

The handler runs in process as Lambda runs it, against a real local HTTP server; only the
secret store is a dict.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from generic_api_call import secret_store
from generic_api_call.handler import lambda_handler
from generic_api_call.secrets import MASK, Secrets
from testbed.deploy.templates import to_item
from tests.servers import LambdaContext, QuietHandler, serving

PIN = "40192837"  # digits only: unquoted in a JSON string body, it is sent as a number
LONG_NUMBER = "1234567890.123456789012"  # a float keeps 17 digits of it: its leading ones
SECRETS = {"ssm:/testbed/pin": PIN, "ssm:/testbed/long": LONG_NUMBER}


class EchoJson(QuietHandler):
    """Answers a POST with the body it received, declared JSON."""

    def do_POST(self) -> None:
        self.reply(200, {"Content-Type": "application/json"}, self.read_body())


@pytest.fixture(scope="module")
def echo_json() -> Iterator[str]:
    with serving(EchoJson) as url:
        yield url


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setattr(secret_store, "resolver", lambda: SECRETS.__getitem__)


def invoke(base_url: str, **fields: Any) -> dict[str, Any]:
    plain = {"PK": "leak", "SK": "POST", "url": base_url + "/", "secrets": list(SECRETS), **fields}
    return lambda_handler({"template": to_item(plain), "params": {}}, LambdaContext())


# --- defect 1: a digits-only secret echoed as a JSON number -------------------------------------

@pytest.mark.parametrize(("name", "secret"), [("pin", PIN), ("long", LONG_NUMBER)])
def test_a_secret_echoed_as_a_json_number_is_masked(echo_json, name, secret):
    placed = "{{ secret('ssm:/testbed/" + name + "') }}"
    body = '{"a": ' + placed + ', "b": [1, ' + placed + '], "n": 7}'
    result = invoke(echo_json, body=body, headers={"Content-Type": "application/json"})
    assert result["body"] == {"a": MASK, "b": [1, MASK], "n": 7}
    text = json.dumps(result)
    assert secret[:12] not in text and secret[:8] not in text, text


def test_every_json_scalar_whose_text_carries_a_secret_is_masked():
    secrets = Secrets("t", ["pin", "word"], {"pin": PIN, "word": "null"}.__getitem__)
    secrets.value("pin")
    data = {"int": int(PIN), "float": float(PIN + ".5"), "negative": -int(PIN), "other": 12, "ok": True, "none": None}
    assert secrets.mask_data(data) == {
        "int": MASK, "float": MASK, "negative": MASK, "other": 12, "ok": True, "none": None}
    secrets.value("word")  # a secret that reads as a JSON literal is masked there too
    assert secrets.mask_data([None, True, "a null"]) == [MASK, True, f"a {MASK}"]


# --- defect 2: urllib3's own warning names the full URL -----------------------------------------

URL_SECRET = "Zq9XkW7pLm3VtR8y"
SECRETS["ssm:/testbed/url"] = URL_SECRET


class MalformedHeader(QuietHandler):
    """Answers 200 with one header line that has no colon: urllib3 logs `Failed to parse headers`."""

    def do_GET(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n"
                         b"this line is not a header\r\n\r\nok")


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """What CloudWatch would get: the root logger's output, as the Lambda runtime's handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def test_a_library_warning_never_logs_the_secret_in_the_url(root_log, caplog):
    placed = "{{ secret('ssm:/testbed/url') }}"
    with serving(MalformedHeader) as url, caplog.at_level(logging.WARNING):
        result = invoke(url, SK="GET", url=f"{url}/users/{placed}", query={"key": placed})
    assert result["statusCode"] == 200 and result["body"] == "ok"  # the request succeeds
    output = root_log.getvalue()
    assert "Failed to parse headers (url=" in output and f"/users/{MASK}?key={MASK}" in output, output
    assert "Traceback" in output  # urllib3 logs with exc_info: the traceback is kept, masked
    captured = output + caplog.text + "".join(str(record.msg) + repr(record.args) for record in caplog.records)
    assert URL_SECRET not in captured and URL_SECRET[:8] not in captured


def test_records_made_outside_an_invocation_are_left_alone(caplog):
    with caplog.at_level(logging.WARNING):
        logging.getLogger("urllib3.connection").warning("plain %s", URL_SECRET)
    assert caplog.records[-1].getMessage() == f"plain {URL_SECRET}"  # no secret was active: nothing to mask


def test_records_from_any_thread_are_masked_while_an_invocation_runs(caplog):
    import threading

    from generic_api_call import log_masking

    secrets = Secrets("t", ["pin"], {"pin": PIN}.__getitem__)
    with log_masking.active(secrets):
        secrets.value("pin")  # resolved after the invocation began: masked all the same
        with caplog.at_level(logging.WARNING):
            worker = threading.Thread(target=lambda: logging.getLogger("lib").warning("pin=%d", int(PIN)))
            worker.start()
            worker.join(timeout=5)
            try:
                raise ValueError(f"bad {PIN}")
            except ValueError:
                logging.getLogger("lib").exception("failed for %s", PIN)
    assert [record.getMessage() for record in caplog.records] == [f"pin={MASK}", f"failed for {MASK}"]
    assert PIN not in caplog.text and f"ValueError: bad {MASK}" in caplog.text
