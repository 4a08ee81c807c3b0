"""Connect only to the address destinations.check_url checked (DNS pinning, SSRF protection).

A second DNS lookup could answer differently (DNS rebinding), so the request connects to
`Target.address`, while the Host header, SNI and certificate check use `Target.host`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy

from .destinations import DEFAULT_PORTS, Target, hostport, split_url
from .errors import DestinationRefused


def pinned_session(target: Target) -> requests.Session:
    """A Session that connects only to `target.address`, speaking to `target.host`.

    Requests to any other scheme/host/port, or through a proxy, raise DestinationRefused,
    so an automatically followed redirect cannot leave the checked destination.
    """
    session = requests.Session()
    session.trust_env = False  # env proxies or .netrc must not reroute or add credentials
    adapter = _PinnedAdapter(target)
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

    def __init__(self, target: Target) -> None:
        self._target = target
        super().__init__()

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
