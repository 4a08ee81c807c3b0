"""The request journal: what the mock received (and answered), so tests can assert on what their code sent."""

import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mockapi.capture import CapturedRequest
from mockapi.tracing import trace_id

# Response bodies are kept for reading, not for replay: a few KiB shows what was answered.
RESPONSE_BODY_LIMIT = 4096


class Journal:
    """Keeps the newest `max_entries` requests; older ones fall off so memory stays bounded."""

    def __init__(self, max_entries: int = 1000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

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
        self._entries.append(entry)
        return entry

    @staticmethod
    def record_response(entry: dict[str, Any], status: int, headers: Mapping[str, str], body: bytes,
                        elapsed_ms: float, fault: str | None = None) -> None:
        """Add what was answered to `entry` (kept by reference, so the journal shows it)."""
        entry["response"] = {
            "status": status,
            "headers": dict(headers),
            "body": body[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace"),
            "bodySize": len(body),
            "bodyTruncated": len(body) > RESPONSE_BODY_LIMIT,
            "elapsedMs": round(elapsed_ms, 1),
            "fault": fault,
        }

    def entries(self, path_prefix: str = "", trace: str | None = None) -> list[dict[str, Any]]:
        """Oldest first, optionally only those under `path_prefix` and/or of trace id `trace`."""
        return [entry for entry in self._entries if _selected(entry, path_prefix, trace)]

    def clear(self, path_prefix: str = "", trace: str | None = None) -> int:
        """Drop entries (all, or those selected as in `entries`); returns how many were dropped."""
        kept = [entry for entry in self._entries if not _selected(entry, path_prefix, trace)]
        dropped = len(self._entries) - len(kept)
        self._entries = deque(kept, maxlen=self._entries.maxlen)
        return dropped


def _selected(entry: dict[str, Any], path_prefix: str, trace: str | None) -> bool:
    if not entry["path"].startswith(path_prefix):
        return False
    return trace is None or entry["traceId"] == trace.lower()
