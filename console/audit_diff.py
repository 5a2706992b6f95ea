"""An audit event's before and after: readable JSON, and the unified diff between them."""

from __future__ import annotations

import difflib
import json
from typing import Any

from console import safejson


def pretty_json(value: Any) -> str:
    """Readable JSON; a string that holds JSON (a policy document, say) is shown parsed."""
    if isinstance(value, str):
        try:
            parsed = safejson.loads(value, max_bytes=1024 * 1024)
        except safejson.JSONRefused:
            return value
        if isinstance(parsed, (dict, list)):
            value = parsed
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


DIFF_CLASSES = {"+": "add", "-": "del", "@": "hunk"}


def json_diff(before: Any, after: Any) -> list[tuple[str, str]]:
    """A unified diff of the pretty JSON as (css class, line); empty when nothing differs."""
    if before is None and after is None:
        return []
    old = pretty_json(before).splitlines() if before is not None else []
    new = pretty_json(after).splitlines() if after is not None else []
    lines = []
    for line in difflib.unified_diff(old, new, "before", "after", n=3, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        lines.append((DIFF_CLASSES.get(line[:1], ""), line))
    return lines
