"""Every log record of the process is masked with the secrets of the invocations running.

Libraries log what they see, past the Lambda's own masking: urllib3 warns `Failed to parse
headers (url=<the full URL>)`, with a traceback, when an answer has one malformed header
line, and the URL's path or query may carry a secret. So the mask is applied where every
record is made, the log record factory: whatever the logger, the handler (the Lambda
runtime's, a local one) or the thread, a record holds only masked text once created.

handler.py marks each invocation's Secrets active while it runs (`active`).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .secrets import Secrets

_lock = threading.Lock()
_active: list[Secrets] = []  # a list, not a set: the same Secrets may be active twice (nested)


@contextmanager
def active(secrets: Secrets) -> Iterator[None]:
    """While the block runs, every log record is masked with `secrets` (values found later too)."""
    with _lock:
        _active.append(secrets)
    try:
        yield
    finally:
        with _lock:
            _active.remove(secrets)


def mask_record(record: logging.LogRecord, masks: tuple[Secrets, ...]) -> None:
    """Mask the record's text in place: its message (args merged in), exception and stack."""

    def masked(text: str) -> str:
        for secrets in masks:
            text = secrets.mask(text)
        return text

    try:
        message = record.getMessage()
    except Exception:  # args that do not fit the format: logging would report it; keep both as text
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = masked(message), None
    if record.exc_info:
        # Formatters append exc_text as it is; the exception itself (whose text may hold the
        # URL) is dropped, so no formatter can print it again unmasked.
        record.exc_text = masked("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = masked(record.exc_text)
    if record.stack_info:
        record.stack_info = masked(record.stack_info)


def _masking_factory(previous: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        with _lock:
            masks = tuple(_active)
        if masks:
            mask_record(record, masks)
        return record

    make_record.masks_secrets = True  # type: ignore[attr-defined]
    return make_record


def install() -> None:
    """Make every record through the masking factory (once per process; it wraps the one in place)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "masks_secrets", False):
        logging.setLogRecordFactory(_masking_factory(current))
