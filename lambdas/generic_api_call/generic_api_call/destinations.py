"""Where the Lambda may connect: static origin, allow-list and address checks (SSRF protection).

Templates and params are untrusted. One static check (`static_origin`) makes params unable
to choose the destination, for validation, the seed and run time alike. Every request must
then go through `check_url`, which resolves the host once and refuses anything outside the
allow-list or inside a refused address range, and then through `pinning.pinned_session`,
which connects to the checked address instead of resolving the name a second time (a second
lookup could answer differently: DNS rebinding).

The allow-list comes from the env var ALLOWED_HOSTS (see `allowed_hosts_from_env`). When it is
unset or blank the list is empty and NOTHING is allowed: a missing setting must fail closed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

from .errors import DestinationRefused, InvalidTemplate, RenderError, UpstreamConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_HOSTS_ENV = "ALLOWED_HOSTS"
DEFAULT_PORTS = {"http": 80, "https": 443}

# Refused whatever the allow-list says. Link-local (which holds 169.254.169.254 and the ECS
# endpoint 169.254.170.2), multicast and reserved ranges are tested with ipaddress predicates.
_CLOUD_SERVICE_NETWORKS = (
    ipaddress.ip_network("169.254.169.254/32"),  # instance metadata (IMDS), IPv4
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS Nitro services over IPv6: IMDS ::254, DNS ::253, NTP ::123
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.x.x.x can reach the local host on Linux
# DNS64 in an IPv6-only VPC answers 64:ff9b::a.b.c.d for IPv4-only names; judge the IPv4 inside
# rather than refusing the whole prefix (ipaddress counts it as reserved).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_HOST_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"  # underscores: compose service names use them
_HOSTNAME_RE = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")
_ENTRY_RE = re.compile(r"^(?:\[(?P<v6>[^\]]*)\]|(?P<name>[^:\[\]]+))(?::(?P<port>[0-9]+))?$")


# --------------------------------------------------------------------------- allow-list


@dataclass(frozen=True)
class AllowList:
    """Hosts (optionally host:port) the Lambda may call. Empty means nothing is allowed."""

    # (canonical host, port) pairs; port None means any port
    entries: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """Parse `"mockapi:8080, api.example.com, [::1]:8081"`; commas and/or whitespace separate entries."""
        entries = frozenset(_parse_entry(raw) for raw in re.split(r"[,\s]+", text) if raw)
        return cls(entries)

    def allows(self, host: str, port: int) -> bool:
        canonical = _canonical_host(host)
        return (canonical, None) in self.entries or (canonical, port) in self.entries

    def __bool__(self) -> bool:
        return bool(self.entries)


def allowed_hosts_from_env(environ: Mapping[str, str] | None = None) -> AllowList:
    """Read ALLOWED_HOSTS. Unset or blank gives an empty list (fail closed); a bad entry raises ValueError."""
    text = (os.environ if environ is None else environ).get(ALLOWED_HOSTS_ENV, "")
    try:
        return AllowList.parse(text)
    except ValueError as exc:
        raise ValueError(f"{ALLOWED_HOSTS_ENV}: {exc}") from exc


def _parse_entry(raw: str) -> tuple[str, int | None]:
    match = _ENTRY_RE.match(raw)
    if match is None:
        hint = " (IPv6 addresses need brackets: [::1]:8080)" if raw.count(":") > 1 else ""
        raise ValueError(f"bad allow-list entry {raw!r}{hint}")
    port = _parse_port(raw, match["port"])
    if match["v6"] is not None:
        try:
            return str(ipaddress.IPv6Address(match["v6"])), port
        except ValueError:
            raise ValueError(f"bad allow-list entry {raw!r}: not an IPv6 address") from None
    return _parse_entry_name(raw, match["name"]), port


def _parse_port(raw: str, text: str | None) -> int | None:
    if text is None:
        return None
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"bad allow-list entry {raw!r}: port out of range")
    return port


def _parse_entry_name(raw: str, name: str) -> str:
    if not name.isascii():
        raise ValueError(f"bad allow-list entry {raw!r}: use the punycode (xn--) form of the name")
    canonical = _canonical_host(name)
    if _ip_literal(canonical) is not None:
        return canonical
    if not _HOSTNAME_RE.match(canonical) or len(canonical) > 253:
        raise ValueError(f"bad allow-list entry {raw!r}: not a hostname or IP address (no wildcards)")
    if _is_numeric_shorthand(canonical):
        # "127.1", "2130706433", "0x7f.0.0.1": the resolver reads these as IPv4 addresses
        raise ValueError(f"bad allow-list entry {raw!r}: write IPv4 addresses as a.b.c.d")
    return canonical


def _is_numeric_shorthand(name: str) -> bool:
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


def _canonical_host(host: str) -> str:
    """Lower case, no IPv6 brackets, no trailing dot, IP literals in their compressed form."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.removesuffix(".")
    ip = _ip_literal(host)
    return str(ip) if ip is not None else host


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --------------------------------------------------------------------------- static origin
# Params never choose the destination, by construction: a template's `url` must start with
# `{{ base_url }}` or a literal `http(s)://host[:port]`, followed by '/', '?', '#' or nothing.
# Checked when the template is validated (seed, dry run) and at run time (render.py), by
# `static_origin` alone.

_BASE_URL_PREFIX = re.compile(r"\{\{-?\s*base_url\s*-?\}\}")
_LITERAL_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s{}%\\]*")  # '@': refused by origin_of
_ORIGIN_HELP = (
    "url: must start with {{ base_url }} or a literal http(s)://host[:port], then '/', '?' or '#' "
    "before any {{ }} or {% %}: params may not choose the destination"
)


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # canonical
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{hostport(self.host, self.port)}"


def static_origin(url_source: str, base_url: str | None) -> Origin | None:
    """The origin a template's url reaches, read from its text; InvalidTemplate if params could choose it.

    None when the url starts with {{ base_url }} and `base_url` is None (not known yet).
    """
    prefix = _BASE_URL_PREFIX.match(url_source)
    if prefix is not None:
        rest = url_source[prefix.end():]
        origin_text = None if base_url is None else check_base_url(base_url)
    else:
        literal = _LITERAL_ORIGIN.match(url_source)
        if literal is None:
            raise InvalidTemplate(_ORIGIN_HELP)
        rest, origin_text = url_source[literal.end():], literal[0]
    if rest and rest[0] not in "/?#":
        raise InvalidTemplate(_ORIGIN_HELP)
    if origin_text is None:
        return None
    try:
        return origin_of(origin_text)
    except RenderError as exc:
        raise InvalidTemplate(str(exc)) from exc


def origin_of(url: str) -> Origin:
    """Scheme, canonical host and port of a URL; RenderError if it has none, or has userinfo."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RenderError(f"url: does not parse ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise RenderError(f"url: must be an absolute http(s) URL with a host, got scheme {scheme or '(none)'!r}")
    if "@" in parts.netloc:
        # requests would send user:password as a base64 Basic header: put credentials in a header.
        raise RenderError("url: user:password@ is not allowed; send credentials in a header")
    return Origin(scheme, _canonical_host(parts.hostname), port if port is not None else DEFAULT_PORTS[scheme])


def check_base_url(base_url: str) -> str:
    """The deployment's base URL (API_BASE_URL): an origin and an optional path, no query."""
    stripped = base_url.rstrip("/")
    parts = urlsplit(stripped)
    if parts.query or parts.fragment or not stripped:
        raise InvalidTemplate(f"base_url {base_url!r} must be http(s)://host[:port][/path], without query")
    return stripped


# --------------------------------------------------------------------------- URL check


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to `address`, speak to `host` (Host header, SNI, certificate)."""

    scheme: str
    host: str  # canonical: lower case, punycode, no brackets, no trailing dot
    port: int
    address: str  # IP literal, no brackets


def check_origin(origin: Origin, allow: AllowList) -> None:
    """The static part of the destination check, shared by validation, the seed and run time.

    Refuses (DestinationRefused) an IP literal in a refused range (judged before the
    allow-list, so a listed metadata address is still refused, with the real reason), then
    anything outside the allow-list (which is also what limits loopback).
    """
    where = hostport(origin.host, origin.port)
    literal = _ip_literal(origin.host)
    if literal is not None:
        _refuse_address(where, literal)
    if not allow.allows(origin.host, origin.port):
        raise DestinationRefused(f"destination {where} refused: not in the allow-list")


def check_url(url: str, allow: AllowList) -> Target:
    """Refuse (DestinationRefused) unless every address of the URL's host may be called.

    `check_origin` first, then the host is resolved exactly once and every address checked;
    the caller must connect to `Target.address` (see `pinned_session`). DNS failures raise
    UpstreamConnectionError, which is retried.
    """
    scheme, host, port = split_url(url)
    check_origin(Origin(scheme, host, port), allow)
    literal = _ip_literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    for address in addresses:
        _refuse_address(hostport(host, port), address)
    return Target(scheme=scheme, host=host, port=port, address=str(addresses[0]))


def split_url(url: str) -> tuple[str, str, int]:
    """Scheme, canonical host and port, read the way requests will read the URL."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        raise DestinationRefused("destination refused: the URL does not parse") from None
    if scheme not in DEFAULT_PORTS:
        raise DestinationRefused(f"destination refused: scheme {scheme or '(none)'!r} is not allowed, only http/https")
    # Let requests normalise the URL (IDNA, quoting, backslashes) so we judge the host it will
    # send to, not one another parser would see. Its errors can quote the query: never pass them on.
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
        parts = urlsplit(prepared.url or "")
        host, port = parts.hostname, parts.port
    except (requests.RequestException, ValueError, UnicodeError):
        raise DestinationRefused("destination refused: the URL does not parse") from None
    if not host:
        raise DestinationRefused("destination refused: the URL has no host")
    return scheme, _canonical_host(host), port if port is not None else DEFAULT_PORTS[scheme]


def _resolve(host: str, port: int) -> list[IPAddress]:
    """One lookup; every address it returns will be checked, the first one used."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UpstreamConnectionError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UpstreamConnectionError(f"cannot resolve {host}: no IPv4/IPv6 address")
    return addresses


def _refuse_address(where: str, address: IPAddress) -> None:
    reason = _refusal_reason(address)
    if reason is not None:
        raise DestinationRefused(f"destination {where} refused: {address} is {reason}")


def _refusal_reason(address: IPAddress) -> str | None:
    """Why this address may never be called, or None. Loopback passes: the allow-list governs it."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or _nat64_embedded(address)
        if embedded is not None:
            # ::ffff:169.254.169.254 reaches the IPv4 address: judge that one
            reason = _refusal_reason(embedded)
            return f"{reason} (IPv4 {embedded} inside IPv6)" if reason else None
    if any(address in network for network in _CLOUD_SERVICE_NETWORKS):
        return "a cloud metadata/service address"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_loopback:
        return None
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:  # IPv4 240/4 incl. broadcast; IPv6 ::/8 (IPv4-compatible) and other unassigned
        return "a reserved address"
    return None


def _nat64_embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --------------------------------------------------------------------------- redirects


def resolve_redirect(response_url: str, location: str) -> str:
    """The absolute URL a Location header points to (relative and scheme-relative forms included).

    DestinationRefused when it does not parse, or holds user:password@ (requests would send
    them as a Basic header): the upstream's answer is at fault, not the template.
    """
    try:
        url = urljoin(response_url, location.strip())
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        raise DestinationRefused("redirect refused: its Location does not parse") from None
    if "@" in parts.netloc:
        raise DestinationRefused("redirect refused: its Location holds user:password@")
    return url
