"""A folder above a prefix-scoped user's prefixes ("the way down" to them): its entries come from the
prefixes, not from listing the whole folder.

Listing the folder itself pages through every key the user may not see: a bucket whose first
thousand top-level keys are hidden shows its only visible folder a thousand pages on, under "This
bucket is empty", and whether a filter matches hidden keys shows in its paging. Instead the page
holds the folders on the way to each prefix (no S3 call), and, for a prefix that ends inside this
folder (``reports/2024`` seen from ``reports/``), a listing of just that prefix: part after part, one
S3 call a page. What the parts list is still filtered by the caller (``access.key_allowed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console import access


@dataclass(frozen=True)
class Plan:
    folders: list[str]  # folders on the way down, shown on the first page
    parts: list[str]  # prefixes listed with S3, one after the other


def plan(allowed: list[str] | None, prefix: str, name_filter: str = "") -> Plan | None:
    """The way down from ``prefix`` (its names starting with ``name_filter``); None inside an allowed
    prefix, or with the whole bucket allowed: then the folder is listed as it is."""
    if allowed is None or access.key_allowed(allowed, prefix):
        return None
    start = prefix + name_filter
    folders, parts = set(), set()
    for allowed_prefix in allowed:
        if not allowed_prefix.startswith(prefix):
            continue
        rest = allowed_prefix[len(prefix) :]
        if "/" in rest:
            folder = prefix + rest.split("/", 1)[0] + "/"
            if folder.startswith(start):
                folders.add(folder)
            elif start.startswith(folder):
                parts.add(start)  # a filter that goes into the folder ("team-a/r"): list what it names
        elif allowed_prefix.startswith(start):
            parts.add(allowed_prefix)
        elif start.startswith(allowed_prefix):
            parts.add(start)
    return Plan(sorted(folders), sorted(parts))


# list_part(part, position) -> (S3 page, error sentence, position of the part's next page or None)
PartLister = Callable[[str, dict], tuple[dict, str, dict | None]]


def page(way: Plan, position: dict, list_part: PartLister, empty: dict) -> tuple[dict, str, dict | None]:
    """One page of the way down: (an S3-like page, the error to show, the position of the next page or None)."""
    index = int(position.get("part", 0))
    if index < len(way.parts):
        result, error, following = list_part(way.parts[index], position)
    else:
        result, error, following = dict(empty), "", None
    if following:
        following = {**following, "part": index}
    elif index + 1 < len(way.parts):
        following = {"part": index + 1}
    if not position:
        result = {**result, "prefixes": sorted(set(way.folders) | set(result["prefixes"]))}
    return result, error, following
