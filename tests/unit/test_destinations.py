"""SSRF protection: allow-list, address rules, DNS pinning, redirects. Real sockets on 127.0.0.1 only."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from generic_api_call.destinations import (
    AllowList,
    Target,
    allowed_hosts_from_env,
    check_url,
    resolve_redirect,
)
from generic_api_call.errors import DestinationRefused, UpstreamConnectionError
from generic_api_call.http_call import _redirect_request
from generic_api_call.pinning import pinned_session
from generic_api_call.secrets import Secrets

REAL_GETADDRINFO = socket.getaddrinfo


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Replace socket.getaddrinfo with a table; return the list of names looked up."""
    lookups: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        lookups.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
            if ":" in ip
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


# --------------------------------------------------------------------------- AllowList


def test_parse_entries_with_and_without_port() -> None:
    allow = AllowList.parse(" mockapi:8080, API.Example.com,127.0.0.1:8081\n[::1]:9000 , [FD00::5], svc_a ,")
    assert allow.entries == {
        ("mockapi", 8080),
        ("api.example.com", None),
        ("127.0.0.1", 8081),
        ("::1", 9000),
        ("fd00::5", None),
        ("svc_a", None),
    }


def test_allows_checks_host_case_insensitively_and_port() -> None:
    allow = AllowList.parse("mockapi:8080, api.example.com, [::1]:9000")
    assert allow.allows("MockAPI", 8080)
    assert not allow.allows("mockapi", 8081)
    assert allow.allows("api.example.com", 443)
    assert allow.allows("API.EXAMPLE.COM.", 1234)  # no port in the entry: any port; trailing dot is the same name
    assert allow.allows("[::1]", 9000)
    assert allow.allows("0:0::1", 9000)  # IPv6 compared as addresses, not strings
    assert not allow.allows("::1", 9001)
    assert not allow.allows("other.example.com", 443)
    assert not allow.allows("sub.api.example.com", 443)  # no implicit subdomains


@pytest.mark.parametrize("text", ["", "   ", ", ,"])
def test_empty_allow_list_allows_nothing(text: str) -> None:
    allow = AllowList.parse(text)
    assert not allow
    assert not allow.allows("localhost", 80)


@pytest.mark.parametrize(
    "entry",
    [
        "host:abc",
        "host:0",
        "host:70000",
        "host:",
        "*.example.com",
        "http://api.example.com",
        "api.example.com/path",
        "user@host",
        "::1",  # IPv6 without brackets is ambiguous with a port
        "fe80::1:8080",
        "[::1",
        "[not-an-ip]:80",
        "[127.0.0.1]:80",
        "bücher.example",
        "127.1",  # the resolver reads it as 127.0.0.1
        "2130706433",
        "-bad-.example",
        "a..b",
    ],
)
def test_parse_rejects_bad_entries_naming_them(entry: str) -> None:
    with pytest.raises(ValueError, match="bad allow-list entry") as info:
        AllowList.parse(f"good.example, {entry}")
    assert repr(entry) in str(info.value)


def test_allowed_hosts_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    assert allowed_hosts_from_env() == AllowList()  # unset: nothing allowed
    monkeypatch.setenv("ALLOWED_HOSTS", "mockapi:8080")
    assert allowed_hosts_from_env().allows("mockapi", 8080)
    assert allowed_hosts_from_env({"ALLOWED_HOSTS": "x.example"}).allows("x.example", 1)
    with pytest.raises(ValueError, match="ALLOWED_HOSTS: bad allow-list entry"):
        allowed_hosts_from_env({"ALLOWED_HOSTS": "*"})


# --------------------------------------------------------------------------- check_url


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://127.0.0.1/x", "dict://127.0.0.1:11211/", "//127.0.0.1/"],
)
def test_check_url_refuses_other_schemes(url: str) -> None:
    allow = AllowList.parse("127.0.0.1")
    with pytest.raises(DestinationRefused, match="scheme"):
        check_url(url, allow)


def test_check_url_refuses_unlisted_host_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups = fake_dns(monkeypatch, {"evil.example": ["93.184.216.34"]})
    with pytest.raises(DestinationRefused, match=r"evil\.example:443 refused: not in the allow-list"):
        check_url("https://evil.example/x", AllowList.parse("api.example.com"))
    with pytest.raises(DestinationRefused, match="not in the allow-list"):
        check_url("http://api.example.com:8080/", AllowList.parse("api.example.com:80"))
    assert lookups == []


def test_check_url_parses_like_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # urlsplit would say the host is api.example.com; requests sends to evil.example
    fake_dns(monkeypatch, {"api.example.com": ["203.0.113.7"]})
    with pytest.raises(DestinationRefused, match=r"evil\.example:80 refused"):
        check_url("http://evil.example\\@api.example.com/", AllowList.parse("api.example.com"))


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "[fd00:ec2::254]",
        "[::ffff:169.254.169.254]",
        "[::ffff:a9fe:a9fe]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 form
        "[::a9fe:a9fe]",  # deprecated IPv4-compatible form
        "169.254.170.2",  # ECS task metadata
        "0.0.0.0",
        "[::ffff:0.0.0.0]",
        "[::]",
        "[fe80::1]",
        "224.0.0.1",
        "255.255.255.255",
    ],
)
def test_check_url_refuses_special_addresses_even_when_listed(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    lookups = fake_dns(monkeypatch, {})
    allow = AllowList.parse(host)
    with pytest.raises(DestinationRefused, match=r"refused: .* is an? ") as info:
        check_url(f"http://{host}/latest/meta-data/?token=s3cret", allow)
    assert "s3cret" not in str(info.value) and "meta-data" not in str(info.value)
    assert lookups == []  # IP literals are judged without DNS


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "[::1]", "[::ffff:127.0.0.1]"])
def test_loopback_only_when_listed(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(DestinationRefused, match="not in the allow-list"):
        check_url(f"http://{host}:8081/x", AllowList.parse("api.example.com, localhost"))
    target = check_url(f"http://{host}:8081/x", AllowList.parse(f"{host}:8081"))
    assert ipaddress.ip_address(target.address) == ipaddress.ip_address(host.strip("[]"))
    assert target.port == 8081


def test_localhost_name_refused_unless_listed() -> None:
    # real resolver: "localhost" comes from /etc/hosts, no network
    with pytest.raises(DestinationRefused, match="not in the allow-list"):
        check_url("http://localhost:8080/", AllowList.parse("127.0.0.1:8080"))
    target = check_url("http://LOCALHOST:8080/", AllowList.parse("localhost:8080"))
    assert target.host == "localhost"
    assert target.address in {"127.0.0.1", "::1"}


def test_listed_name_resolving_to_private_or_loopback_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"mockapi": ["172.18.0.5"], "sidecar": ["127.0.0.1"]})
    allow = AllowList.parse("mockapi:8080, sidecar")
    assert check_url("http://mockapi:8080/x", allow) == Target("http", "mockapi", 8080, "172.18.0.5")
    assert check_url("https://sidecar/x", allow) == Target("https", "sidecar", 443, "127.0.0.1")


def test_one_refused_address_among_several_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"api.example.com": ["203.0.113.7", "2001:db8::7", "169.254.169.254"]})
    with pytest.raises(
        DestinationRefused, match=r"api\.example\.com:443 refused: 169\.254\.169\.254 is a cloud metadata"
    ):
        check_url("https://api.example.com/", AllowList.parse("api.example.com"))


@pytest.mark.parametrize("bad", ["fd00:ec2::254", "::ffff:169.254.169.254", "::", "fe80::1"])
def test_name_resolving_to_refused_ipv6_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    fake_dns(monkeypatch, {"api.example.com": ["2001:db8::7", bad]})
    with pytest.raises(DestinationRefused, match="refused"):
        check_url("https://api.example.com/", AllowList.parse("api.example.com"))


def test_exactly_one_lookup_and_first_address_used(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups = fake_dns(monkeypatch, {"api.example.com": ["203.0.113.7", "203.0.113.8", "203.0.113.7"]})
    target = check_url("https://api.example.com:8443/v1?x=1", AllowList.parse("api.example.com:8443"))
    assert target == Target("https", "api.example.com", 8443, "203.0.113.7")
    assert lookups == ["api.example.com"]


def test_dns_failure_is_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(UpstreamConnectionError, match=r"cannot resolve api\.example\.com"):
        check_url("https://api.example.com/", AllowList.parse("api.example.com"))


@pytest.mark.parametrize("url", ["http://", "http://[::1/", "http://api.example.com:99999/", "http://a b/"])
def test_malformed_urls_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_url(url, AllowList.parse("api.example.com, [::1]"))


# --------------------------------------------------------------------------- redirects and credentials


def redirect_target(response_url: str, location: str, allow: AllowList) -> Target:
    return check_url(resolve_redirect(response_url, location), allow)


def test_redirect_target_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups = fake_dns(monkeypatch, {"api.example.com": ["203.0.113.7"]})
    allow = AllowList.parse("api.example.com, 169.254.169.254")
    with pytest.raises(DestinationRefused, match=r"169\.254\.169\.254"):
        redirect_target("https://api.example.com/a/b", "http://169.254.169.254/", allow)
    with pytest.raises(DestinationRefused, match="scheme"):
        redirect_target("https://api.example.com/a/b", "file:///etc/passwd", allow)
    with pytest.raises(DestinationRefused, match="not in the allow-list"):
        redirect_target("https://api.example.com/a/b", "//evil.example/x", allow)
    target = redirect_target("https://api.example.com:8443/a/b?q=1", "c?page=2", allow)
    assert target == Target("https", "api.example.com", 8443, "203.0.113.7")
    assert lookups == ["api.example.com"]


def test_resolve_redirect_relative_forms() -> None:
    base = "https://api.example.com:8443/a/b?q=1"
    assert resolve_redirect(base, "c") == "https://api.example.com:8443/a/c"
    assert resolve_redirect(base, "/root") == "https://api.example.com:8443/root"
    assert resolve_redirect(base, "//other.example/x") == "https://other.example/x"


def strip_credentials(headers: dict[str, str], from_url: str, to_url: str, secret: str = "") -> dict[str, str]:
    secrets = Secrets("t", ["s"], lambda _name: secret)
    if secret:
        secrets.value("s")
    return _redirect_request(from_url, to_url, headers, None, secrets)[0]


def test_strip_credentials_when_the_origin_changes() -> None:
    headers = {
        "authorization": "Bearer t",
        "Cookie": "c=1",
        "Proxy-Authorization": "p",
        "X-Api-Key": "key-value-1",
        "Accept": "*/*",
    }
    same = ("http://api.example.com/a", "http://API.example.com.:80/b")
    assert strip_credentials(headers, *same, secret="key-value-1") == headers
    other = ("http://api.example.com/a", "http://other.example/b")
    assert strip_credentials(headers, *other, secret="key-value-1") == {"Accept": "*/*"}
    assert strip_credentials(headers, *other) == {"X-Api-Key": "key-value-1", "Accept": "*/*"}
    assert strip_credentials(headers, "http://[::1]/", "http://[::1]:80/x") == headers
    # Another port or scheme is another origin (issue 8, defect 4): the host alone is not enough.
    assert strip_credentials(headers, "http://127.0.0.1:8001/", "http://127.0.0.1:8002/") == {
        "X-Api-Key": "key-value-1", "Accept": "*/*"}
    assert "authorization" not in strip_credentials(headers, "https://api.example.com/", "http://api.example.com/")


# --------------------------------------------------------------------------- pinned session


class RecordingHandler(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]  # set on a per-server subclass

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, "host": self.headers.get("Host", "")})
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.test/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"pinned ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    def server_bind(self) -> None:
        # skip HTTPServer's getfqdn(): no reverse lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def run_server(
    wrap: Callable[[socket.socket], socket.socket] | None = None,
) -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (RecordingHandler,), {"seen": seen})
    httpd = LocalServer(("127.0.0.1", 0), handler)
    if wrap is not None:
        httpd.socket = wrap(httpd.socket)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture()
def http_server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    yield from run_server()


@pytest.fixture()
def recorded_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pass lookups through to the real resolver, but record them."""
    lookups: list[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return REAL_GETADDRINFO(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_pinned_session_connects_to_pinned_address(
    http_server: tuple[int, list[dict[str, str]]], recorded_lookups: list[str]
) -> None:
    port, seen = http_server
    target = Target("http", "api.test", port, "127.0.0.1")
    with pinned_session(target) as session:
        response = session.get(f"http://api.test:{port}/x?q=1", headers={"Host": "evil.test"}, timeout=5)
    assert response.status_code == 200
    assert response.text == "pinned ok"
    assert seen == [{"path": "/x?q=1", "host": f"api.test:{port}"}]  # template-supplied Host replaced
    assert "api.test" not in recorded_lookups


def test_pinned_session_omits_default_port_from_host() -> None:
    session = pinned_session(Target("https", "api.test", 443, "127.0.0.1"))
    request = session.prepare_request(requests.Request("GET", "https://api.test/"))
    session.get_adapter(request.url or "").add_headers(request)
    assert request.headers["Host"] == "api.test"


def test_pinned_session_refuses_other_destinations(http_server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = http_server
    target = Target("http", "api.test", port, "127.0.0.1")
    with pinned_session(target) as session:
        for url in (f"http://other.test:{port}/", f"http://api.test:{port + 1}/", f"https://api.test:{port}/"):
            with pytest.raises(DestinationRefused, match="pinned to"):
                session.get(url, timeout=5)
        # The session never follows a redirect itself (http_call.py does, each hop checked again).
        assert session.get(f"http://api.test:{port}/redirect", timeout=5, allow_redirects=True).is_redirect
        with pytest.raises(DestinationRefused, match="proxies"):
            session.get(f"http://api.test:{port}/", proxies={"http": "http://127.0.0.1:1"}, timeout=5)
    assert [r["path"] for r in seen] == ["/redirect"]


# --------------------------------------------------------------------------- https: SNI and certificate name


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=api.test",
         "-addext", "subjectAltName=DNS:api.test"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture()
def https_server(cert_files: tuple[Path, Path]) -> Iterator[tuple[int, list[dict[str, str]], list[str | None]]]:
    sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_files)
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,misc,return-value]

    def wrap(sock: socket.socket) -> socket.socket:
        return context.wrap_socket(sock, server_side=True)

    for port, seen in run_server(wrap):
        yield port, seen, sni


@pytest.mark.parametrize("watched", [False, True])  # True: with a deadline, the connection is watched
def test_pinned_https_uses_hostname_for_sni_and_certificate(
    https_server: tuple[int, list[dict[str, str]], list[str | None]], cert_files: tuple[Path, Path], watched: bool
) -> None:
    port, seen, sni = https_server
    cert = str(cert_files[0])
    deadline = time.monotonic() + 30 if watched else None
    with pinned_session(Target("https", "api.test", port, "127.0.0.1"), deadline) as session:
        response = session.get(f"https://api.test:{port}/secure", verify=cert, timeout=5)
    assert response.text == "pinned ok"
    assert sni == ["api.test"]
    assert seen == [{"path": "/secure", "host": f"api.test:{port}"}]

    # the certificate is checked against the URL's name, not the pinned IP
    with (
        pinned_session(Target("https", "other.test", port, "127.0.0.1")) as session,
        pytest.raises(requests.exceptions.SSLError),
    ):
        session.get(f"https://other.test:{port}/secure", verify=cert, timeout=5)
