"""Sums per prefix and per storage class, precomputed: rebuilt in one streaming pass after a crawl,
moved by each console change (``follow``), so no page sums entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import ClassStat, Entry, IndexedBucket, PrefixStat, Snapshot
from catalog.services import upsert

MAX_DEPTH = 12  # prefixes deeper than this are summed into their ancestor at this depth
WRITE_BATCH = 2000


def prefixes_of(key: str) -> list[str]:
    """ "", "a/", "a/b/" for "a/b/c" (at most MAX_DEPTH levels below the root)."""
    parts = key.split("/")[:-1][:MAX_DEPTH]
    return [""] + ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def parent_of(prefix: str) -> str:
    if not prefix:
        return ""
    head, slash, _ = prefix[:-1].rpartition("/")
    return head + slash


def top_of(key: str) -> str:
    head, slash, _ = key.partition("/")
    return head + slash if slash else ""


class _Level:
    __slots__ = ("prefix", "count", "bytes", "newest", "classes")

    def __init__(self, prefix: str):
        self.prefix, self.count, self.bytes, self.newest = prefix, 0, 0, None
        self.classes: dict[str, list[int]] = {}  # storage class: [count, bytes]


def rebuild(indexed: IndexedBucket) -> int:
    """Sum the entries into a new generation of PrefixStat/ClassStat rows, then switch the pages to it.

    One pass in key order with a stack of open prefixes: memory holds one path, not the bucket.
    Returns the generation written.
    """
    generation = indexed.generation
    PrefixStat.objects.filter(indexed=indexed, generation=generation).delete()
    ClassStat.objects.filter(indexed=indexed, generation=generation).delete()
    stack: list[_Level] = []
    pending: list[PrefixStat] = []
    classes: list[ClassStat] = []

    def close(level: _Level) -> None:
        pending.append(
            PrefixStat(
                indexed=indexed, generation=generation, prefix=level.prefix, parent=parent_of(level.prefix),
                count=level.count, bytes=level.bytes, newest=level.newest,
            )
        )  # fmt: skip
        classes.extend(
            ClassStat(indexed=indexed, generation=generation, top=level.prefix, storage_class=sc, count=c, bytes=b)
            for sc, (c, b) in level.classes.items()
        )
        if len(pending) >= WRITE_BATCH:
            PrefixStat.objects.bulk_create(pending)
            ClassStat.objects.bulk_create(classes)
            pending.clear()
            classes.clear()

    rows = (
        Entry.objects.filter(indexed=indexed)
        .order_by("key")
        .values_list("key", "size", "last_modified", "storage_class")
    )
    for key, size, modified, storage_class in rows.iterator(chunk_size=WRITE_BATCH):
        path = prefixes_of(key)
        depth = 0
        while depth < len(stack) and depth < len(path) and stack[depth].prefix == path[depth]:
            depth += 1
        while len(stack) > depth:
            close(stack.pop())
        stack.extend(_Level(p) for p in path[depth:])
        for level in stack:
            level.count += 1
            level.bytes += size
            if modified and (level.newest is None or modified > level.newest):
                level.newest = modified
            tally = level.classes.get(storage_class) or level.classes.setdefault(storage_class, [0, 0])
            tally[0] += 1
            tally[1] += size
    while stack:
        close(stack.pop())
    if (
        not any(p.prefix == "" for p in pending)
        and not PrefixStat.objects.filter(indexed=indexed, generation=generation, prefix="").exists()
    ):
        close(_Level(""))  # an empty bucket still has its (empty) total
    PrefixStat.objects.bulk_create(pending)
    ClassStat.objects.bulk_create(classes)
    root = PrefixStat.objects.get(indexed=indexed, generation=generation, prefix="")
    with transaction.atomic():
        IndexedBucket.objects.filter(pk=indexed.pk).update(
            stats_generation=generation, object_count=root.count, total_bytes=root.bytes
        )
        PrefixStat.objects.filter(indexed=indexed).exclude(generation=generation).delete()
        ClassStat.objects.filter(indexed=indexed).exclude(generation=generation).delete()
    indexed.stats_generation, indexed.object_count, indexed.total_bytes = generation, root.count, root.bytes
    return generation


def move(indexed: IndexedBucket, changes: Iterable[tuple[str, int, int, str, datetime | None]]) -> None:
    """Apply (key, Δcount, Δbytes, storage class, modified) to the current sums: one upsert a table."""
    generation = indexed.stats_generation
    by_prefix: dict[str, list] = {}
    by_class: dict[tuple[str, str], list[int]] = {}
    for key, dcount, dbytes, storage_class, modified in changes:
        for prefix in prefixes_of(key):
            tally = by_prefix.setdefault(prefix, [0, 0, None])
            tally[0] += dcount
            tally[1] += dbytes
            if modified and (tally[2] is None or modified > tally[2]):
                tally[2] = modified
            tally = by_class.setdefault((prefix, storage_class), [0, 0])
            tally[0] += dcount
            tally[1] += dbytes
    if not by_prefix:
        return
    adapt = upsert.when
    _add(PrefixStat, ("indexed_id", "generation", "prefix", "parent", "count", "bytes", "newest"),
         [(indexed.pk, generation, p, parent_of(p), c, b, adapt(m)) for p, (c, b, m) in by_prefix.items()],
         conflict=("indexed_id", "generation", "prefix"), newest=True)  # fmt: skip
    _add(ClassStat, ("indexed_id", "generation", "top", "storage_class", "count", "bytes"),
         [(indexed.pk, generation, t, sc, c, b) for (t, sc), (c, b) in by_class.items()],
         conflict=("indexed_id", "generation", "top", "storage_class"))  # fmt: skip
    root = by_prefix[""]
    IndexedBucket.objects.filter(pk=indexed.pk).update(
        object_count=F("object_count") + root[0], total_bytes=F("total_bytes") + root[1]
    )
    if any(tally[0] < 0 for tally in by_prefix.values()):  # a folder (or a class in it) may be empty now: it goes
        PrefixStat.objects.filter(indexed=indexed, generation=generation, count__lte=0).exclude(prefix="").delete()
        ClassStat.objects.filter(indexed=indexed, generation=generation, count__lte=0).delete()


def _add(model, columns: tuple[str, ...], rows: list[tuple], *, conflict: tuple[str, ...], newest=False) -> None:
    """INSERT the rows, or add their count and bytes to the row already there (and keep the newer `newest`):
    one statement, atomic per row, so concurrent changes to one folder both count (SQLite and PostgreSQL)."""
    sets = "count = {table}.count + excluded.count, bytes = {table}.bytes + excluded.bytes"
    if newest:
        sets += (
            ", newest = CASE WHEN excluded.newest IS NULL THEN {table}.newest"
            " WHEN {table}.newest IS NULL OR excluded.newest > {table}.newest THEN excluded.newest"
            " ELSE {table}.newest END"
        )
    upsert.upsert(model, columns, rows, conflict=conflict, updates=sets)


def snapshot(indexed: IndexedBucket) -> Snapshot:
    """Today's totals (written again through the day: the last one stays)."""
    indexed.refresh_from_db(fields=["object_count", "total_bytes", "noncurrent_bytes"])
    snap, _ = Snapshot.objects.update_or_create(
        indexed=indexed,
        day=timezone.localdate(),
        defaults={"count": indexed.object_count, "bytes": indexed.total_bytes,
                  "noncurrent_bytes": indexed.noncurrent_bytes},
    )  # fmt: skip
    return snap
