"""The mock API's recording and replay admin API, as the harness calls it."""

from __future__ import annotations

from typing import Any

import requests

from testbed.errors import TestbedError

TIMEOUT_S = 30.0


class RecordingError(TestbedError):
    """The mock API refused a recording request, or could not be reached; the message says which."""


class MockApiAdmin:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = requests.request(method, f"{self.base_url}/__admin{path}", json=body, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise RecordingError(f"the mock API at {self.base_url} cannot be reached: {type(exc).__name__}",
                                 hint="is the stack up? `make up`") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": response.text[:200]}
        if not response.ok:
            raise RecordingError(f"mock API {method} /__admin{path}: {response.status_code} {answer.get('error')}",
                                 context={"status": response.status_code})
        return answer

    def start(self, spec: dict[str, Any]) -> None:
        self._call("POST", "/recordings/start", spec)

    def stop(self) -> list[dict[str, Any]]:
        mappings: list[dict[str, Any]] = self._call("POST", "/recordings/stop")["mappings"]
        return mappings

    def status(self) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", "/recordings/status")
        return found

    def har(self) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", "/recordings/har")
        return found

    def import_mappings(self, mappings: list[dict[str, Any]]) -> None:
        self._call("POST", "/mappings/import", {"mappings": mappings})

    def unmatched(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", "/requests/unmatched")["requests"]
        return found
