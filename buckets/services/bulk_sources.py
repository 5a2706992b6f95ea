"""Where the keys of a bulk job come from: a :class:`KeySource`, and the pager that lists its keys page by page.

A source is a kind, a JSON-safe spec the worker rebuilds its pages from, and a description for the start
page and the audit row. ``prefix`` (a folder, or the whole bucket, listed page by page) and ``selection``
(keys and folders ticked in the object list) are built in; another source (e.g. the results of a search)
registers a pager with :func:`register_source`: a function ``(endpoint, bucket, spec, position) -> iterator
of (entries, position)``, where entries are dicts with at least ``key`` (``size``/``storage_class`` when
known) and ``position`` is JSON that starts the pages again just after them. :func:`key_pages` turns any
iterable of keys into such pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from buckets import s3
from buckets.services.prefixes import iter_pages
from console.models import Endpoint

BATCH = 1000

Pager = Callable[[Endpoint, str, dict, dict], Iterator[tuple[list[dict], dict]]]
PAGERS: dict[str, Pager] = {}


@dataclass(frozen=True)
class KeySource:
    kind: str
    spec: dict
    description: str
    base_prefix: str = ""  # copy/move: what is below it lands below the destination folder
    keys: list[str] = field(default_factory=list)  # explicit keys (kept in the job's params, audited by count)

    def to_params(self) -> dict:
        return {"kind": self.kind, "spec": self.spec, "description": self.description, "base_prefix": self.base_prefix}


def register_source(kind: str, pager: Pager) -> None:
    PAGERS[kind] = pager


def key_pages(entries: Iterable[str | dict], size: int = BATCH) -> Iterator[tuple[list[dict], dict]]:
    """Pages of at most ``size`` entries out of keys (or listing entries), each with {"after": its last key}."""
    page: list[dict] = []
    for entry in entries:
        page.append({"key": entry, "size": None} if isinstance(entry, str) else entry)
        if len(page) >= size:
            yield page, {"after": page[-1]["key"]}
            page = []
    if page:
        yield page, {"after": page[-1]["key"]}


def prefix_source(prefix: str) -> KeySource:
    where = f"every object under “{prefix}”" if prefix else "every object in the bucket"
    return KeySource("prefix", {"prefix": prefix}, where, base_prefix=prefix)


def selection_source(*, keys: list[str], folders: list[str], base_prefix: str) -> KeySource:
    """Keys and folders ticked in one folder; a key or folder inside a ticked folder comes with that folder."""
    folders = sorted(f for f in set(folders) if f.endswith("/"))
    folders = [f for f in folders if not any(f != o and f.startswith(o) for o in folders)]
    keys = sorted(k for k in set(keys) if not any(k.startswith(f) for f in folders))
    parts = []
    if keys:
        parts.append(f"{len(keys):,} selected object" + ("s" if len(keys) != 1 else ""))
    if folders:
        parts.append(
            f"everything in {len(folders):,} folder(s)" if len(folders) > 1 else f"everything in “{folders[0]}”"
        )
    return KeySource("selection", {"folders": folders}, " and ".join(parts), base_prefix=base_prefix, keys=keys)


def _prefix_pager(endpoint: Endpoint, bucket: str, spec: dict, position: dict):
    for page in iter_pages(endpoint, bucket, spec["prefix"], start_after=position.get("after", "")):
        yield page, {"after": page[-1]["key"]}


def _selection_pager(endpoint: Endpoint, bucket: str, spec: dict, position: dict):
    keys, folders = spec.get("keys") or [], spec.get("folders") or []
    for index in range(position.get("index", 0), len(keys), BATCH):
        yield [{"key": k, "size": None} for k in keys[index : index + BATCH]], {"index": index + BATCH}
    first = position.get("folder", 0)
    for number in range(first, len(folders)):
        after = position.get("after", "") if number == first else ""
        for page in iter_pages(endpoint, bucket, folders[number], start_after=after):
            yield page, {"index": len(keys), "folder": number, "after": page[-1]["key"]}


register_source("prefix", _prefix_pager)
register_source("selection", _selection_pager)


def source_pages(endpoint: Endpoint, bucket: str, source: dict, keys: list[str], position: dict):
    pager = PAGERS.get(source["kind"])
    if pager is None:
        raise s3.S3Error("UnknownSource", f"This console cannot list keys from “{source['kind']}”.")
    return pager(endpoint, bucket, {**source["spec"], "keys": keys}, position)


def listing_phase(position: dict) -> object:
    """Which listing a page comes from (the explicit keys, or one folder): lookups restart at each."""
    return position.get("folder", -1) if "index" in position else 0
