"""Connect only to the address destinations.check_url checked (DNS pinning, SSRF protection),
and never past the call's deadline.

A second DNS lookup could answer differently (DNS rebinding), so the request connects to
`Target.address`, while the Host header, SNI and certificate check use `Target.host`.

Socket timeouts bound each read, not the call: an upstream that drips its status line,
headers or TLS handshake a byte at a time, each within the read timeout, would hold the
Lambda past its own timeout. So each connection is shut down at the deadline (`_Watchdog`),
which ends any read still waiting; http_call.py reports that as UpstreamTimeout.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool

from .destinations import DEFAULT_PORTS, Target, hostport, split_url
from .errors import DestinationRefused


class OwnRedirectsSession(requests.Session):
    """A Session that never prepares a redirect: http_call.py follows them itself, each hop checked.

    Even with allow_redirects=False, requests prepares the next request of a 3xx answer
    (for `Response.next`): it reads the whole body first, uncapped and decompressed (a 3xx
    gzip bomb took 200 MB), and parses the Location (a ValueError for `http://[bad`).
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def pinned_session(target: Target, deadline: float | None = None) -> requests.Session:
    """A Session that connects only to `target.address`, speaking to `target.host`.

    Requests to any other scheme/host/port, or through a proxy, raise DestinationRefused,
    so an automatically followed redirect cannot leave the checked destination. With a
    `deadline` (time.monotonic()), every connection is shut down when it passes.
    """
    session = OwnRedirectsSession()
    session.trust_env = False  # env proxies or .netrc must not reroute or add credentials
    adapter = _PinnedAdapter(target, None if deadline is None else _Watchdog(deadline))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _PinnedAdapter(HTTPAdapter):
    """Pins the TCP connection to the checked IP using only public requests/urllib3 hooks.

    - `build_connection_pool_key_attributes` (the documented override point, requests >= 2.32)
      makes urllib3's pool connect to the IP, and for https passes `server_hostname`, a public
      urllib3 pool option used for SNI and certificate hostname verification.
    - `add_headers` sets Host, which would otherwise be the IP the pool connects to.

    Not used: setting the private `HTTPConnection._dns_host` (urllib3 2.x). Its `host` property
    reads `_dns_host`, so overriding it also turns the Host header and SNI into the IP.
    """

    def __init__(self, target: Target, watchdog: _Watchdog | None = None) -> None:
        self._target = target
        self._watchdog = watchdog
        super().__init__()

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> ConnectionPool:
        pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
        if self._watchdog is not None and isinstance(pool, HTTPConnectionPool):  # (HTTPS pools are HTTP pools)
            # connections this pool makes from now on are watched
            https = isinstance(pool, HTTPSConnectionPool)
            pool.ConnectionCls = _WatchedHTTPSConnection if https else _WatchedConnection
            pool.conn_kw["watchdog"] = self._watchdog
        return pool

    def close(self) -> None:
        super().close()
        if self._watchdog is not None:
            self._watchdog.release_all()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self._require_target(request.url or "")
        if select_proxy(request.url or "", dict(proxies or {})):
            raise DestinationRefused(f"destination {self._where} refused: proxies are not allowed")
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:  # requests' stubs type these as private TypedDicts without server_hostname
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = self._target.address
        kwargs: dict[str, Any] = dict(pool_kwargs)
        if host_params["scheme"] == "https":
            kwargs["server_hostname"] = self._target.host
        return host_params, kwargs

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        # Replaces a template-supplied Host too: an untrusted Host could pick another virtual
        # host behind the allowed address.
        request.headers["Host"] = _host_header(self._target)

    def _require_target(self, url: str) -> None:
        scheme, host, port = split_url(url)
        if (scheme, host, port) != (self._target.scheme, self._target.host, self._target.port):
            raise DestinationRefused(
                f"destination {hostport(host, port)} refused: this session is pinned to {self._where}"
            )

    @property
    def _where(self) -> str:
        return hostport(self._target.host, self._target.port)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == DEFAULT_PORTS[target.scheme] else f"{host}:{target.port}"


class _Watchdog:
    """Shuts each watched socket down at the deadline, unless it was released (closed) first."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._lock = threading.Lock()
        self._timers: dict[int, threading.Timer] = {}  # by file descriptor

    def watch(self, fd: int) -> None:
        timer = threading.Timer(max(self._deadline - time.monotonic(), 0.0), self._fire, (fd,))
        timer.daemon = True
        with self._lock:
            self._timers[fd] = timer
        timer.start()

    def release(self, fd: int) -> None:
        """Before the socket is closed: its descriptor may then be reused by another socket."""
        with self._lock:  # waits for a _fire in progress, which uses the descriptor
            timer = self._timers.pop(fd, None)
        if timer is not None:
            timer.cancel()

    def release_all(self) -> None:
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()

    def _fire(self, fd: int) -> None:
        with self._lock:
            if self._timers.pop(fd, None) is None:
                return
            # Shut the descriptor down, whatever object (plain or TLS socket) reads from it now:
            # the blocked read returns at once. detach(): the connection still owns (closes) it.
            try:
                sock = socket.socket(fileno=fd)
            except OSError:
                return  # already closed
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already shut down by the peer
            finally:
                sock.detach()


class _WatchedConnection(HTTPConnection):
    """An urllib3 connection whose socket the watchdog shuts down at the deadline."""

    def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
        self._watchdog = watchdog
        self._watched_fd: int | None = None
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # the TCP connection (its connect timeout bounds this part)
        self._watched_fd = sock.fileno()  # TLS, if any, is then set up on this descriptor
        self._watchdog.watch(self._watched_fd)
        return sock

    def close(self) -> None:
        if self._watched_fd is not None:
            self._watchdog.release(self._watched_fd)
            self._watched_fd = None
        super().close()


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass
