"""Our own Lambda handlers, equivalent to the test handlers the recorded cases name.

Each file is deployed alone as `handler.py` (handler `handler.handler`), under the name the
case gives (`handler_file`). Stack traces recorded on AWS name the line of the raise, so
raising handlers keep it where AWS saw it (line 2, line 9).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent


def source(handler_file: str) -> str | None:
    """The source of our equivalent of `handler_file`, or None when we have none."""
    path = FOLDER / handler_file
    if path.name == "__init__.py" or path.parent != FOLDER or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")
