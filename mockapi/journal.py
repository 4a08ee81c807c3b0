"""The request journal: what the mock received, so tests can assert on what their code sent."""

import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from mockapi.capture import CapturedRequest


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
        }
        self._entries.append(entry)
        return entry

    def entries(self, path_prefix: str = "") -> list[dict[str, Any]]:
        """Oldest first, optionally only those whose path starts with `path_prefix`."""
        return [entry for entry in self._entries if entry["path"].startswith(path_prefix)]

    def clear(self, path_prefix: str = "") -> int:
        """Drop entries (all, or those under `path_prefix`); returns how many were dropped."""
        kept = [entry for entry in self._entries if not entry["path"].startswith(path_prefix)]
        dropped = len(self._entries) - len(kept)
        self._entries = deque(kept, maxlen=self._entries.maxlen)
        return dropped
