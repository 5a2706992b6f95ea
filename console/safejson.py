"""JSON from users, parsed within bounds: a size and a nesting depth, checked before the parser runs.

Python's json module recurses once per level: thousands of "[" raise RecursionError (a 500).
:func:`loads` refuses such input with a sentence instead, like any other malformed JSON.
"""

from __future__ import annotations

import json
from typing import Any

DEFAULT_MAX_DEPTH = 32


class JSONRefused(ValueError):
    """Input that is not acceptable JSON; ``status`` is the HTTP answer it deserves (400 or 413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def nesting_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings (the input need not be valid JSON)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = DEFAULT_MAX_DEPTH, what: str = "The JSON") -> Any:
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise JSONRefused(f"{what} is larger than {max_bytes:,} bytes.", 413)
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONRefused(f"{what} is not UTF-8 text.") from None
    elif len(data.encode("utf-8", "surrogatepass")) > max_bytes:
        raise JSONRefused(f"{what} is larger than {max_bytes:,} bytes.", 413)
    if nesting_depth(data) > max_depth:
        raise JSONRefused(f"{what} is nested more than {max_depth} levels deep.")
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:  # not reachable after the depth check; kept so no input can become a 500
        raise JSONRefused(f"{what} is nested too deeply.") from None
