"""A second red-team pass on the Lambda after issue 8: each attack failed before its fix.

(Guards that already held are marked "guard": the TLS handshake drip, literal lists in a
loop, a text body whose Content-Type params choose.)

In process, as in test_handler_attacks.py: the handler (or the renderer) driven as Lambda
would, with real local sockets as upstreams; only the secret store is a dict.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from generic_api_call import limits, secret_store
from generic_api_call.errors import (
    DestinationRefused,
    InvalidTemplate,
    RenderError,
    UpstreamConnectionError,
    UpstreamTimeout,
)
from generic_api_call.handler import lambda_handler
from generic_api_call.render import check_syntax, render_request
from generic_api_call.secrets import MASK, Secrets
from generic_api_call.template import from_plain
from testbed.deploy.templates import TemplateFileError, load_file, to_item
from tests import support
from tests.servers import RECEIVED, LambdaContext, QuietHandler, Upstream, serving

REAL_RESOLVER = secret_store.resolver  # before the fixture replaces it

# An AWS-style secret key: '/' is percent-encoded in some forms, and its first character
# comes back after the '/' (so a short prefix of the encoded form ends the cut text).
SLASHED = "wJa/wlrXUtnFEMIK7MDENG"
ACCENTED = "pässwörd-123"  # latin-1: may go in a header
EURO = "p€ss-w0rd-xyz"  # not latin-1: a body or a path only
SECRETS = {"ssm:/r/slashed": SLASHED, "ssm:/r/accented": ACCENTED, "ssm:/r/euro": EURO}


@functools.cache
def gzip_bomb() -> bytes:
    """100 MiB of zeros, gzipped to about 100 KiB (made once, in pieces)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    zeros = bytes(2**20)
    return b"".join(packer.compress(zeros) for _ in range(100)) + packer.flush()


class BytesEcho(Upstream):
    """Echoes the bytes it received, as many plain servers do: no charset of its own."""

    def _answer(self) -> None:
        body = self.read_body()
        token = self.headers.get("X-Token", "").encode("latin-1")  # the header's bytes, as received
        if self.path == "/body-in-header":
            headers, payload = {"X-Echo": body.decode("latin-1"), "Content-Type": "text/plain"}, b"ok"
        elif self.path == "/body-as-text":  # text/* without a charset
            headers, payload = {"Content-Type": "text/plain"}, body
        elif self.path.startswith("/answer"):  # the request body is the answer, of a chosen type
            headers, payload = {"Content-Type": self.headers["X-Answer-Type"]}, body
        elif self.path == "/redirect-bomb":  # a redirect whose body inflates to 100 MB
            self.reply(302, {"Location": "/landing", "Content-Encoding": "gzip"}, gzip_bomb())
            return
        else:  # the header's bytes in a UTF-8 body
            headers, payload = {"Content-Type": "text/plain; charset=utf-8"}, b"token=" + token
        self.reply(200, headers, payload)

    do_GET = do_POST = _answer


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serving(Upstream) as url:
        yield url


@pytest.fixture(scope="module")
def bytes_echo() -> Iterator[str]:
    with serving(BytesEcho) as url:
        yield url


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch, upstream: str) -> None:
    monkeypatch.setenv("API_BASE_URL", upstream)
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setattr(secret_store, "resolver", lambda: SECRETS.__getitem__)
    RECEIVED.clear()


def invoke(params: dict[str, Any] | None = None, method: str = "GET", **fields: Any) -> dict[str, Any]:
    plain = {"PK": "redteam", "SK": method, "url": "{{ base_url }}/", "secrets": list(SECRETS), **fields}
    return lambda_handler({"template": to_item(plain), "params": params or {}}, LambdaContext())


# --- a cut that ends in a short prefix of one form and a long prefix of another -------------

def test_mask_tail_removes_the_longest_partial_secret_of_any_form():
    secrets = Secrets("t", ["ssm:/r/slashed"], SECRETS.__getitem__)
    secrets.value("ssm:/r/slashed")
    for length in range(1, len(SLASHED)):
        masked = secrets.mask_tail("pad:" + SLASHED[:length])
        assert masked == "pad:" + MASK, (length, masked)


@pytest.mark.parametrize("kept", range(1, len(SLASHED)))
def test_a_body_cut_never_returns_a_prefix_of_a_secret_with_a_slash(kept):
    # The upstream echoes the secret so that the body cap keeps its first `kept` characters;
    # after the second 'w' (kept=5) the %2F form's first character also ends the text.
    pad = limits.MAX_BODY_BYTES - kept
    result = invoke({"n": pad}, url="{{ base_url }}/pad-body?n={{ params.n }}",
                    headers={"X-Token": "{{ secret('ssm:/r/slashed') }}"})
    assert result["truncated"] is True
    tail = result["body"][-40:]
    for length in range(2, len(SLASHED) + 1):
        assert SLASHED[:length] not in tail, (length, tail)


# --- a secret echoed as bytes, read back in another charset -----------------------------------

@pytest.mark.parametrize(("path", "name", "fields"), [
    ("/body-in-header", "euro", {"body": "t={{ secret('ssm:/r/euro') }}"}),  # UTF-8 bytes read as latin-1
    ("/body-as-text", "euro", {"body": "t={{ secret('ssm:/r/euro') }}"}),  # text/* defaults to ISO-8859-1
    ("/body-in-header", "accented", {"body": "t={{ secret('ssm:/r/accented') }}"}),
    ("/header-in-body", "accented", {"headers": {"X-Token": "{{ secret('ssm:/r/accented') }}"}}),  # latin-1 as UTF-8
])
def test_a_secret_echoed_as_bytes_is_masked_in_any_charset_the_lambda_reads_it_in(bytes_echo, path, name, fields):
    result = invoke(method="POST", url=bytes_echo + path, **fields)
    secret = SECRETS[f"ssm:/r/{name}"]
    shown = json.dumps(result, ensure_ascii=False)
    assert MASK in shown, shown
    for part in ("ss-w0rd", "ssw", "rd-123"):
        if part in secret:
            assert part not in shown, shown


# --- memory: lists made by calls and filters were not counted -------------------------------

LIST_HOARDERS = {
    "split": "{% set s = 'ab ' * 21845 %}{% macro m(n) %}"
    + "".join(f"{{% set a{i} = s.split() %}}" for i in range(20))
    + "{{ m(n - 1) if n else '' }}{% endmacro %}{{ m(100) }}",
    "list_filter": "{% set s = 'ab' * 32767 %}{% macro m(n) %}"
    + "".join(f"{{% set a{i} = s|list %}}" for i in range(20))
    + "{{ m(n - 1) if n else '' }}{% endmacro %}{{ m(100) }}",
    "repeat": "{% macro m(n) %}" + "".join(f"{{% set a{i} = [0] * 13000 %}}" for i in range(20))
    + "{{ m(n - 1) if n else '' }}{% endmacro %}{{ m(100) }}",
    # guard: literal lists in a loop were already bounded
    "literals": "{% for i in range(99999) %}{% set a = [" + ",".join(["0"] * 1000) + "] %}{% endfor %}",
}


@pytest.mark.parametrize("name", LIST_HOARDERS)
def test_lists_made_by_calls_count_against_the_memory_budget(name):
    # A separate process: its peak RSS is the Lambda's memory, which tracemalloc would slow.
    script = textwrap.dedent(f"""
        import resource, sys
        from generic_api_call.errors import RenderError
        from generic_api_call.render import render_request
        from generic_api_call.template import from_plain
        template = from_plain({{"PK": "t", "SK": "POST", "url": "http://h/", "body": {LIST_HOARDERS[name]!r}}})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            render_request(template, {{}}, "http://h")
        except RenderError as exc:
            print(exc)
        else:
            sys.exit("rendered")
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    message, grown = done.stdout.strip().splitlines()
    print(f"{name}: grew {grown} MiB: {message}")
    assert int(grown) < 64, message


# --- internal filters were reachable by name through map --------------------------------------

@pytest.mark.parametrize(("url", "params"), [
    ("http://h/{{ [params.p]|map('literal')|first }}", {"p": "../admin?role=admin#"}),
    ("http://h/{{ [params.p]|map(params.f)|first }}", {"p": "../admin?role=admin#", "f": "literal"}),
    ("http://h/{{ [[params.p]]|map('built')|first|first }}", {"p": "x"}),
    ("http://h/{{ [params.p]|map('loop_guard')|first|first }}", {"p": "x"}),
])
def test_internal_filters_cannot_be_called_by_name(url, params):
    template = from_plain({"PK": "t", "SK": "GET", "url": url})
    try:
        check_syntax(template)
    except InvalidTemplate:
        return  # refused when validated: fine too
    with pytest.raises(RenderError, match="filter"):
        render_request(template, params, "http://h")


# --- template fields the seed accepted and the Lambda could never send ----------------------

@pytest.mark.parametrize("name", ["X Bad", "X-A\r\nInjected", "", "X-A:", "Ümlaut"])
def test_a_header_name_that_is_not_an_http_token_is_an_invalid_template(name):
    with pytest.raises(InvalidTemplate, match="headers"):
        invoke(headers={name: "v"})
    assert RECEIVED == []


# --- the seed's validation: anything odd in a file is a named refusal, never a traceback -----

ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)) + "body: {k: *a8}\n"


@pytest.mark.parametrize(("text", "reason"), [
    ("url: 'http://h/'\n1: x\nfoo: y\n", "unknown field"),
    ("url: 'http://h/'\n~: x\nfoo: y\n", "unknown field"),
    ("url: 'http://h/'\nbody: " + "[" * 1000 + "]" * 1000 + "\n", "nested"),  # PyYAML overflows at ~400
    ("url: 'http://h/'\nheaders: {'X Bad': v}\n", "headers"),
    ("url: 'http://h/'\n" + ALIAS_BOMB, "alias"),  # 9**9 values once expanded: the seed hung
    ("url: 'http://h/'\nbody: '{{ " + "9" * 5000 + " }}'\n", "literal"),  # Jinja's lexer: ValueError
])
def test_an_odd_template_file_is_refused_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "odd.POST.yaml"
    path.write_text("name: odd\nmethod: POST\n" + text, encoding="utf-8")
    with pytest.raises(TemplateFileError, match=reason) as caught:
        load_file(path)
    assert str(path) in str(caught.value)


# --- logs: libraries log URLs and response bodies at DEBUG ------------------------------------

class FakeSsm(QuietHandler):
    """SSM's GetParameter over a real socket, so botocore parses (and would log) a real answer."""

    def do_POST(self) -> None:
        self.read_body()
        payload = json.dumps({"Parameter": {"Name": "/r/slashed", "Type": "SecureString", "Value": SLASHED}}).encode()
        self.reply(200, {"Content-Type": "application/x-amz-json-1.1"}, payload)


def test_no_secret_reaches_the_logs_when_the_runtime_logs_at_debug(monkeypatch, caplog):
    monkeypatch.setattr(secret_store, "resolver", REAL_RESOLVER)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    caplog.set_level(logging.DEBUG)  # what the runtime does with the Lambda's log level set to DEBUG
    with serving(FakeSsm) as ssm:
        monkeypatch.setenv("AWS_ENDPOINT_URL", ssm)
        result = invoke(url="{{ base_url }}/x/{{ secret('ssm:/r/slashed') }}",
                        query={"key": "{{ secret('ssm:/r/slashed') }}"})
    assert result["statusCode"] == 200
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "generic_api_call" in {record.name for record in caplog.records}
    for form in (SLASHED, "wJa%2Fwlr", "wJa/wlr"):
        assert form not in logged, [r.name for r in caplog.records if form in r.getMessage()]


# --- one deadline: the status line and headers dripped slowly ---------------------------------

class HeaderDrip(QuietHandler):
    """Sends its status line and headers a byte at a time, each byte well within a read timeout."""

    def do_GET(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"s" * 40 + b"\r\nContent-Length: 2\r\n\r\nok"
        try:
            for byte in head:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client gave up: what the test expects


def test_headers_dripped_slowly_meet_the_template_deadline():
    with serving(HeaderDrip) as drip:
        started = time.monotonic()
        try:
            with pytest.raises(UpstreamTimeout):
                invoke(url=f"{drip}/", timeoutSeconds=1)
        finally:
            elapsed = time.monotonic() - started
    print(f"gave up after {elapsed:.2f}s of a {0.1 * 70:.0f} s drip, deadline 1 s")
    assert elapsed < 2.0


def test_a_tls_handshake_dripped_slowly_meets_the_template_deadline():
    # guard: Python's ssl already bounds the whole handshake by the connect timeout.
    # A TLS record header announcing 16 KiB, then its bytes one at a time: each read is
    # within the socket timeout, the handshake never completes.
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            try:
                connection.recv(4096)  # the ClientHello
                connection.sendall(b"\x16\x03\x03\x40\x00")
                while not stop.wait(0.1):
                    connection.sendall(b"\x00")
            except OSError:
                pass

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamTimeout):
            invoke(url=f"https://127.0.0.1:{listener.getsockname()[1]}/", timeoutSeconds=1)
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        listener.close()
    print(f"gave up after {elapsed:.2f}s, deadline 1 s")
    assert elapsed < 2.0


# --- answers that are not strict JSON once parsed ---------------------------------------------

@pytest.mark.parametrize(("content_type", "answer"), [
    ("application/json", '{"a": NaN}'),  # Python's json accepts NaN and Infinity; JSON does not
    ("application/json", '{"a": -Infinity}'),
    ("application/json", '{"a": 1e999}'),  # a float beyond range parses as inf
    ("application/json", '{"a": "\\ud800"}'),  # an escaped lone surrogate
    ("text/plain; charset=utf-7", "+2AA-"),  # decodes to a lone surrogate
    ("text/plain; charset=unicode_escape", "\\ud800"),
])
def test_every_answer_gives_a_result_that_is_strict_json(bytes_echo, content_type, answer):
    result = invoke(method="POST", url=bytes_echo + "/answer", body=answer,
                    headers={"X-Answer-Type": content_type, "Content-Type": "text/plain"})
    assert result["statusCode"] == 200
    json.dumps(result, allow_nan=False, ensure_ascii=False).encode("utf-8")  # what Step Functions can read


# --- raw items (the Lambda's event) that DynamoDB would never hold ----------------------------

@pytest.mark.parametrize("number", ["1E+999999999", "1." + "0" * 37 + "1", "Infinity", "-Infinity"])
def test_a_raw_item_with_an_odd_number_is_an_invalid_template(number):
    item = to_item({"PK": "raw", "SK": "GET", "url": "{{ base_url }}/"}) | {"timeoutSeconds": {"N": number}}
    with pytest.raises(InvalidTemplate):
        lambda_handler({"template": item, "params": {}}, LambdaContext())
    assert RECEIVED == []


# --- a Location header that does not parse ----------------------------------------------------

@pytest.mark.parametrize("location", ["http://[bad/x", "http://127.0.0.1:99999/x", "http://user:pw@127.0.0.1/x"])
def test_a_location_that_cannot_be_followed_is_a_named_refusal(location):
    with pytest.raises(DestinationRefused):
        invoke({"to": location}, url="{{ base_url }}/redirect?code=302&to={{ params.to }}", followRedirects=True)



@pytest.mark.parametrize("follow", [False, True])
def test_the_body_of_a_redirect_is_capped_like_any_body(bytes_echo, follow):
    # requests read a 3xx body whole (uncapped, decompressed) to prepare the next request,
    # even with allow_redirects=False.
    tracemalloc.start()
    try:
        try:
            result = invoke(url=bytes_echo + "/redirect-bomb", followRedirects=follow)
        except UpstreamConnectionError:
            result = None  # followed: /landing answers after the bomb
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak {peak / 2**20:.1f} MiB")
    assert peak < 32 * 2**20
    if not follow:
        assert result is not None and result["statusCode"] == 302 and result["truncated"] is True



# --- a Content-Type chosen by params switched the JSON structure check off ---------------------

def test_params_choosing_the_content_type_cannot_switch_off_the_json_structure_check():
    template = from_plain({
        "PK": "t", "SK": "POST", "url": "http://h/", "headers": {"Content-Type": "application/{{ params.fmt }}"},
        "body": '{"name": "{{ params.name }}", "role": "user"}'})
    check_syntax(template)
    hostile = {"fmt": "x-www-form-urlencoded", "name": 'bob", "role": "admin", "x": "'}
    with pytest.raises(RenderError, match="JSON"):
        render_request(template, hostile, "http://h")
    assert render_request(template, {"fmt": "x-www-form-urlencoded", "name": "bob"}, "http://h").body == (
        '{"name": "bob", "role": "user"}')


def test_a_text_body_with_a_chosen_content_type_is_not_held_to_json():
    # guard: the fix above must leave bodies that are not written as JSON alone.
    template = from_plain({"PK": "t", "SK": "POST", "url": "http://h/",
                           "headers": {"Content-Type": "{{ params.ct }}"}, "body": "a={{ params.a }}&b=1"})
    assert render_request(template, {"ct": "text/plain", "a": "x"}, "http://h").body == "a=x&b=1"



def test_an_integer_literal_jinja_cannot_read_is_an_invalid_template():
    with pytest.raises(InvalidTemplate, match="literal"):
        invoke(method="POST", body="{{ " + "9" * 5000 + " }}")


# --- the seed: over 100 changed templates take several transactions --------------------------

def test_a_seed_of_over_100_templates_that_fails_writes_nothing(tmp_path):
    from testbed.deploy.template_table import put_templates
    from testbed.deploy.templates import TemplateFile

    def template_file(index: int, description: str = "") -> TemplateFile:
        plain = {"PK": f"t{index:03d}", "SK": "GET", "url": "{{ base_url }}/", "description": description}
        return TemplateFile(path=tmp_path / f"t{index:03d}.GET.yaml", template=from_plain(plain), item=to_item(plain))

    files = [template_file(i) for i in range(149)] + [template_file(149, "refused")]  # the last sorts last
    before = {("t000", "GET"): template_file(0, "stored before").item}
    table = support.FakeTable(before)
    with pytest.raises(RuntimeError, match="ValidationException"):
        put_templates(table, files)
    assert table.items == before
