"""The identity: returns its event."""

from typing import Any


def handler(event: Any, context: object) -> Any:
    return event
