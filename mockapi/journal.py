"""The request journal: what the mock received (and answered), so tests can assert on what their code sent."""

import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mockapi.capture import CapturedRequest, json_size
from mockapi.limits import JOURNAL_MAX_BYTES, JOURNAL_MAX_ENTRIES, JOURNAL_RESPONSE_BODY_BYTES
from mockapi.tracing import trace_id


def _weight(captured: CapturedRequest) -> int:
    """Roughly the bytes an entry holds: the kept body (as text and as parsed JSON), the headers
    and the parsed query as Python objects (8 KiB of `?a=&b=...` is ~400 KiB of them), the raw
    path and query, and the response kept."""
    parsed = json_size({"headers": captured.headers, "query": captured.query}) or 0
    return len(captured.body) + captured.json_bytes + parsed + len(captured.raw_path) * 2 + len(captured.raw_query) \
        + JOURNAL_RESPONSE_BODY_BYTES


class Journal:
    """Keeps the newest requests, up to `max_entries` and about `max_bytes`; older ones fall off."""

    def __init__(self, max_entries: int = JOURNAL_MAX_ENTRIES, max_bytes: int = JOURNAL_MAX_BYTES) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._max_bytes = max_bytes
        self._weights: dict[str, int] = {}  # entry id -> _weight
        self._bytes = 0

    def record(self, captured: CapturedRequest, stub_id: str | None) -> dict[str, Any]:
        entry = {
            "id": uuid.uuid4().hex,
            "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            **captured.to_echo(),
            "bodySize": captured.body_size,
            "bodyTruncated": captured.body_truncated,
            "stubId": stub_id,
            "traceId": trace_id(captured.headers),
            "response": None,
        }
        if len(self._entries) == self._entries.maxlen:
            self._forget(self._entries[0])  # append() below drops it
        self._entries.append(entry)
        self._weights[entry["id"]] = weight = _weight(captured)
        self._bytes += weight
        # Headers (up to 128 of 8 KiB each) can make one entry a MiB: count bytes, not only entries.
        while self._bytes > self._max_bytes and len(self._entries) > 1:
            self._forget(self._entries.popleft())
        return entry

    def _forget(self, entry: dict[str, Any]) -> None:
        self._bytes -= self._weights.pop(entry["id"], 0)

    @staticmethod
    def record_response(entry: dict[str, Any], status: int, headers: Mapping[str, str], body: bytes,
                        elapsed_ms: float, fault: str | None = None) -> None:
        """Add what was answered to `entry` (kept by reference, so the journal shows it)."""
        entry["response"] = {
            "status": status,
            "headers": dict(headers),
            "body": body[:JOURNAL_RESPONSE_BODY_BYTES].decode("utf-8", errors="replace"),
            "bodySize": len(body),
            "bodyTruncated": len(body) > JOURNAL_RESPONSE_BODY_BYTES,
            "elapsedMs": round(elapsed_ms, 1),
            "fault": fault,
        }

    def entries(self, path_prefix: str = "", trace: str | None = None) -> list[dict[str, Any]]:
        """Oldest first, optionally only those under `path_prefix` and/or of trace id `trace`."""
        return [entry for entry in self._entries if _selected(entry, path_prefix, trace)]

    def clear(self, path_prefix: str = "", trace: str | None = None) -> int:
        """Drop entries (all, or those selected as in `entries`); returns how many were dropped."""
        kept: list[dict[str, Any]] = []
        for entry in self._entries:
            if _selected(entry, path_prefix, trace):
                self._forget(entry)
            else:
                kept.append(entry)
        dropped = len(self._entries) - len(kept)
        self._entries = deque(kept, maxlen=self._entries.maxlen)
        return dropped


def _selected(entry: dict[str, Any], path_prefix: str, trace: str | None) -> bool:
    if not entry["path"].startswith(path_prefix):
        return False
    return trace is None or entry["traceId"] == trace.lower()
