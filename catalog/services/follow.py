"""The index follows the console's own changes: the services of ``buckets/services/`` call these after
a change succeeded (inside their audited block), so an indexed bucket needs no crawl to show it.

Each call costs one query when the bucket is not indexed, and six statements in one transaction when it is
(a batch of changes: a few more); never an S3 call.
A failure here never undoes the change in S3: it is logged, and the next re-crawl repairs the index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from catalog.models import Entry, IndexedBucket
from catalog.services import stats, upsert
from console.models import Endpoint

log = logging.getLogger(__name__)


def _indexed(endpoint: Endpoint, bucket: str) -> IndexedBucket | None:
    return (
        IndexedBucket.objects.filter(endpoint=endpoint, bucket=bucket)
        .exclude(state=IndexedBucket.State.WAITING)
        .only("pk", "generation", "stats_generation")
        .first()
    )


def _safely(function):
    """A database error is logged, never raised into the change that S3 already made. The writes of an indexed
    bucket run in one transaction (entries and sums move together, or not at all; in a caller's: a savepoint)."""

    def wrapper(*args, **kwargs):
        try:
            function(*args, **kwargs)
        except DatabaseError:
            log.exception("The index did not follow a change (%s); the next crawl repairs it.", function.__name__)

    return wrapper


@_safely
def object_stored(
    *,
    endpoint: Endpoint,
    bucket: str,
    key: str,
    size: int,
    etag: str = "",
    storage_class: str = "",
    last_modified: datetime | None = None,
) -> None:
    """An object was written (upload, copy, move, rename, metadata rewrite, restored version)."""
    _store(endpoint, bucket, [{"key": key, "size": size, "etag": etag, "storage_class": storage_class,
                               "last_modified": last_modified}])  # fmt: skip


@_safely
def objects_stored(*, endpoint: Endpoint, bucket: str, objects: list[dict]) -> None:
    """Objects were written, as a batch of {key, size, etag, storage_class[, last_modified]} (a copy job's page)."""
    _store(endpoint, bucket, objects)


def _store(endpoint: Endpoint, bucket: str, objects: list[dict]) -> None:
    indexed = _indexed(endpoint, bucket)
    if indexed is None or not objects:
        return
    with transaction.atomic():
        _write(indexed, objects)


def _write(indexed: IndexedBucket, objects: list[dict]) -> None:
    now = timezone.now()
    before = {
        k: (size, sc)
        for k, size, sc in Entry.objects.filter(indexed=indexed, key__in=[o["key"] for o in objects]).values_list(
            "key", "size", "storage_class"
        )
    }
    rows, changes = [], []
    for o in objects:
        was = before.get(o["key"])
        storage_class = o.get("storage_class") or (was[1] if was else "") or "STANDARD"
        modified = o.get("last_modified") or now
        rows.append((indexed.pk, o["key"], o["size"] or 0, upsert.when(modified), storage_class,
                     (o.get("etag") or "").strip('"')[:96], indexed.generation, "", ""))  # fmt: skip
        changes.append((o["key"], 1, o["size"] or 0, storage_class, modified))
        if was:
            changes.append((o["key"], -1, -was[0], was[1], None))
    upsert.entries(rows)  # tags and metadata stay as the last detailed crawl saw them
    stats.move(indexed, changes)


@_safely
def objects_removed(*, endpoint: Endpoint, bucket: str, keys: Iterable[str]) -> None:
    """Objects were deleted (delete, move's source, rename's old names)."""
    indexed = _indexed(endpoint, bucket)
    if indexed is None:
        return
    keys = list(keys)
    for start in range(0, len(keys), 500):
        with transaction.atomic():
            rows = Entry.objects.filter(indexed=indexed, key__in=keys[start : start + 500])
            gone = list(rows.values_list("key", "size", "storage_class"))
            rows.delete()
            stats.move(indexed, [(k, -1, -size, sc, None) for k, size, sc in gone])


@_safely
def object_reclassed(*, endpoint: Endpoint, bucket: str, key: str, storage_class: str) -> None:
    """Only the storage class changed (the size stays)."""
    indexed = _indexed(endpoint, bucket)
    if indexed is None:
        return
    before = Entry.objects.filter(indexed=indexed, key=key).values("size", "storage_class").first()
    if before is None or before["storage_class"] == storage_class:
        return
    with transaction.atomic():
        Entry.objects.filter(indexed=indexed, key=key).update(storage_class=storage_class)
        stats.move(
            indexed,
            [(key, -1, -before["size"], before["storage_class"], None), (key, 1, before["size"], storage_class, None)],
        )


@_safely
def bucket_emptied(*, endpoint: Endpoint, bucket: str, deleted: bool = False) -> None:
    """Every object is gone (an emptied bucket), or the bucket itself (its index goes too)."""
    indexed = IndexedBucket.objects.filter(endpoint=endpoint, bucket=bucket).first()
    if indexed is None:
        return
    if deleted:
        indexed.delete()
        return
    with transaction.atomic():
        Entry.objects.filter(indexed=indexed).delete()
        stats.rebuild(indexed)


@_safely
def object_copied(
    *,
    endpoint: Endpoint,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    size: int,
    etag: str = "",
    move: bool = False,
) -> None:
    """One object copied (or moved: its source is gone); the copy keeps the source's storage class."""
    source = _indexed(endpoint, source_bucket)
    storage_class = ""
    if source is not None:
        storage_class = (
            Entry.objects.filter(indexed=source, key=source_key).values_list("storage_class", flat=True).first() or ""
        )
    _store(endpoint, bucket, [{"key": key, "size": size, "etag": etag, "storage_class": storage_class}])
    if move and source is not None:
        objects_removed(endpoint=endpoint, bucket=source_bucket, keys=[source_key])
