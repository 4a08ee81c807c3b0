"""pathPattern regexes, matched by RE2 in time linear in the path.

Python's `re` backtracks: a pattern like ^/p/(a+)+$ against /p/aaaa...a! takes exponential time
and, run on the event loop, stops the whole mock API. RE2 has no backreferences or lookaround,
so patterns that need them are refused when the stub is loaded, with RE2's reason.
"""

from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from mockapi.limits import MAX_PATH_PATTERN_CHARS, PATH_PATTERN_MAX_MEM


class PatternError(ValueError):
    """The text is not a pattern RE2 accepts (or is too long); the message says why."""


def _options() -> Any:
    options = re2.Options()
    options.never_capture = True  # a yes/no answer needs no groups, and then RE2 can use its DFA
    options.log_errors = False  # the caller reports the error; RE2 would also print it to stderr
    options.max_mem = PATH_PATTERN_MAX_MEM
    return options


@dataclass(frozen=True)
class PathPattern:
    text: str
    _compiled: Any  # re2's compiled pattern

    def fullmatch(self, path: str) -> bool:
        return self._compiled.fullmatch(path) is not None


def compile_path_pattern(text: str) -> PathPattern:
    if len(text) > MAX_PATH_PATTERN_CHARS:
        raise PatternError(f"longer than {MAX_PATH_PATTERN_CHARS} characters")
    try:
        compiled = re2.compile(text, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "unknown error"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        raise PatternError(f"not a regex RE2 accepts: {reason} (RE2 has no backreferences or lookaround)") from exc
    return PathPattern(text, compiled)
