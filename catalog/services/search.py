"""Search in the index: a substring anywhere in the key, across the whole bucket, with filters.

PostgreSQL answers the substring from a pg_trgm GIN index (``key ILIKE '%term%'``); SQLite from an
FTS5 table with the trigram tokenizer when the term is rare (up to FTS_FEW matches, read by id), else by
LIKE along the key index, which finds a common term's first page at once (terms under three characters: LIKE). Pages
are keyset-paginated on the key. Every query is scoped like a listing: a user whose role covers
prefixes only gets keys under them, in results and in counts alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Entry, IndexedBucket
from console import access
from console.models import Endpoint

PAGE = 50
COUNT_LIMIT = 1000  # "1,000+": counting every match of a common term would cost more than the page


@dataclass(frozen=True)
class Filters:
    term: str = ""
    min_size: int | None = None
    max_size: int | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    storage_class: str = ""
    tag: str = ""  # "name=value" (or "name=" for any value)
    meta: str = ""

    @property
    def any(self) -> bool:
        return any(v not in (None, "") for v in self.__dict__.values())


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


FTS_FEW = 1000  # SQLite: up to this many FTS matches, the rows are read by id; more, a LIKE in key order


def _substring(rows: QuerySet, term: str) -> QuerySet:
    if connection.vendor == "postgresql":
        return rows.extra(where=['"catalog_entry"."key" ILIKE %s'], params=[_like(term)])  # noqa: S610 - bound
    return rows.filter(key__icontains=term)


def _fts_ids(term: str) -> list[int] | None:
    """SQLite: the ids of the entries (every bucket's) whose key holds the term, when they are few; else None.

    A common term is better found by LIKE along the key index (the first page stops after 51 rows); a rare
    one by the FTS5 trigram table, whose ids are then read one by one (see ``matching``)."""
    if connection.vendor != "sqlite" or len(term) < 3:
        return None
    phrase = '"' + term.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM catalog_entry_fts WHERE catalog_entry_fts MATCH %s LIMIT %s", [phrase, FTS_FEW + 1]
        )
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= FTS_FEW else None


def scope_q(allowed: list[str] | None) -> Q | None:
    """None: the whole bucket; else keys under one of the allowed prefixes (none at all for [])."""
    if allowed is None:
        return None
    q = Q(pk__in=[])
    for prefix in allowed:
        q |= Q(key__startswith=prefix)
    return q


def matching(indexed: IndexedBucket, allowed: list[str] | None, filters: Filters, prefix: str = "") -> QuerySet:
    ids = _fts_ids(filters.term) if filters.term else None
    if ids is not None:
        # By id; "+" keeps SQLite from walking the (indexed, key) index instead, all the bucket's rows in order.
        rows = Entry.objects.filter(pk__in=ids).extra(where=['+"catalog_entry"."indexed_id" = %s'], params=[indexed.pk])  # noqa: S610 - bound
    else:
        rows = Entry.objects.filter(indexed=indexed)
    if (scope := scope_q(allowed)) is not None:
        rows = rows.filter(scope)
    if prefix:
        rows = rows.filter(key__startswith=prefix)
    if filters.term and ids is None:
        rows = _substring(rows, filters.term)
    if filters.min_size is not None:
        rows = rows.filter(size__gte=filters.min_size)
    if filters.max_size is not None:
        rows = rows.filter(size__lte=filters.max_size)
    if filters.modified_after:
        rows = rows.filter(last_modified__gte=filters.modified_after)
    if filters.modified_before:
        rows = rows.filter(last_modified__lt=filters.modified_before)
    if filters.storage_class:
        rows = rows.filter(storage_class=filters.storage_class)
    if filters.tag:
        rows = rows.filter(tags__contains=_line(filters.tag))
    if filters.meta:
        rows = rows.filter(metadata__contains=_line(filters.meta))
    return rows


def _line(pair: str) -> str:
    name, eq, value = pair.partition("=")
    return f"\n{name.strip()}={value}\n" if eq and value else f"\n{name.strip()}="


def search_page(
    *, indexed: IndexedBucket, allowed: list[str] | None, filters: Filters, after: str = "", size: int | None = None
) -> tuple[list[Entry], str]:
    """One page of matches in key order after ``after``, and the key to continue from ("" at the end)."""
    size = size or PAGE
    rows = matching(indexed, allowed, filters)
    if after:
        rows = rows.filter(key__gt=after)
    page = list(rows.order_by("key").only("key", "size", "last_modified", "storage_class", "etag")[: size + 1])
    following = page[size - 1].key if len(page) > size else ""
    return page[:size], following


def count_matches(*, indexed: IndexedBucket, allowed: list[str] | None, filters: Filters) -> int:
    """How many match, counted up to COUNT_LIMIT + 1 (the page says "1,000+" then)."""
    rows = matching(indexed, allowed, filters).values("pk")[: COUNT_LIMIT + 1]
    return rows.count()


def freshness(indexed: IndexedBucket | None) -> str:
    """ "absent", "crawling" (no complete crawl yet), "stale", "failed" or "fresh"."""
    if indexed is None or (indexed.indexed_at is None and indexed.state == IndexedBucket.State.WAITING):
        return "absent"
    if indexed.indexed_at is None:
        return "failed" if indexed.state == IndexedBucket.State.FAILED else "crawling"
    if indexed.indexed_at < timezone.now() - timezone.timedelta(hours=settings.INDEX_STALE_HOURS):
        return "stale"
    return "fresh"


def search_keys(*, user, endpoint: Endpoint, bucket: str, page_size: int = 1000, **filters) -> Iterator[list[str]]:
    """Every key a search finds for this user, a list per page, scoped exactly as the search page.

    ``filters`` are :class:`Filters` fields. Nothing when the bucket has no index or the user no scope.
    """
    indexed = IndexedBucket.objects.filter(endpoint=endpoint, bucket=bucket).first()
    allowed = access.allowed_prefixes(user, endpoint, bucket)
    if indexed is None or allowed == [] or not access.can_see(user, endpoint=endpoint, bucket=bucket):
        return
    wanted = Filters(**filters)
    after = ""
    while True:
        page, after = search_page(indexed=indexed, allowed=allowed, filters=wanted, after=after, size=page_size)
        if page:
            yield [e.key for e in page]
        if not after:
            return
