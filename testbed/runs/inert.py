"""Any text the testbed did not write (a template name, a log line, a body, an error) shown inert.

Stored and upstream strings are data: one execution's `[/]` must not crash a rich view (rich
reads markup in plain strings), its `[link=...]` must not make a hyperlink, and its `ESC[2J`,
BEL, CR or bidi override must not reach the developer's terminal, colours off or piped alike.
`inert` is the one function every view passes such text through; rich views wrap its result
in `rich.text.Text`, which never reads markup. `json_text` is the same rule for JSON output.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

TAB_SIZE = 4


def inert(text: object) -> str:
    """`text` with every control or format character shown as an escape (`\\x1b`, `\\u202e`);
    newlines kept, tabs expanded."""
    value = str(text).expandtabs(TAB_SIZE)
    if value.replace("\n", "").isprintable():
        return value  # the common case, checked in C
    return "".join(char if _shown_as_is(char) else _escape(char) for char in value)


def _shown_as_is(char: str) -> bool:
    # Not printable to Python: controls (C0, DEL, C1), format (bidi overrides, zero widths),
    # surrogates, private use, unassigned, line/paragraph separators, and the spaces (Zs).
    return char == "\n" or char.isprintable() or unicodedata.category(char) == "Zs"


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def json_text(data: Any) -> str:
    """JSON for a terminal or a pipe: ASCII escapes, so no control, bidi or C1 character (nor a
    lone surrogate, which would not encode) leaves as is."""
    return json.dumps(data, indent=2, ensure_ascii=True, default=str)
