"""Readiness probes: poll with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import requests

from testbed.errors import TestbedError

POLL_SECONDS = 0.2


class NotReady(TestbedError):
    """A service did not become ready before its deadline."""


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, detail: Callable[[], str] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(POLL_SECONDS)
    extra = f"\n{detail()}" if detail else ""
    raise NotReady(f"{what} not ready after {timeout:g}s{extra}")


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=2).ok
        except requests.RequestException:
            return False

    return check


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
