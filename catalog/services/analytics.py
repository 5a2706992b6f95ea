"""Storage analytics from the precomputed sums: a few rows a page, whatever the bucket's size.

A user whose role covers prefixes only sees sums of those prefixes (and of folders inside them), never
of a folder above them (its sum would count other people's keys), nor bucket-wide figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import BigIntegerField, Count, DateTimeField, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from buckets.models import Bucket
from catalog.models import ClassStat, Entry, IndexedBucket, OutsideChange, PrefixStat, Snapshot
from catalog.services import stats
from catalog.services.search import freshness, scope_q
from console import access

CHILDREN_SHOWN = 40
TOP_SHOWN = 10


@dataclass
class Folder:
    prefix: str
    name: str
    count: int
    bytes: int
    share: float = 0.0  # percent of the largest shown: the bar's length


@dataclass
class Report:
    indexed: IndexedBucket
    prefix: str
    whole_bucket: bool
    count: int = 0
    bytes: int = 0
    folders: list[Folder] = field(default_factory=list)
    more_folders: int = 0
    here_count: int = 0  # objects directly in the prefix
    here_bytes: int = 0
    classes: list[dict] = field(default_factory=list)
    largest: list = field(default_factory=list)
    oldest: list = field(default_factory=list)
    growth: list = field(default_factory=list)
    outside: list = field(default_factory=list)


def _stat(indexed: IndexedBucket, prefix: str) -> PrefixStat | None:
    return PrefixStat.objects.filter(indexed=indexed, generation=indexed.stats_generation, prefix=prefix).first()


def _summed(prefix: str) -> bool:
    """Whether the precomputed sums have a row for this prefix (the bucket, or a folder not too deep)."""
    return prefix == "" or (prefix.endswith("/") and len(stats.prefixes_of(prefix + "x")) - 1 <= stats.MAX_DEPTH)


def _sums(indexed: IndexedBucket, prefix: str) -> tuple[int, int]:
    """Count and bytes under a prefix: its precomputed row when there is one, else summed (a rare scope)."""
    if _summed(prefix):
        stat = _stat(indexed, prefix)
        return (stat.count, stat.bytes) if stat else (0, 0)
    found = Entry.objects.filter(indexed=indexed, key__startswith=prefix).aggregate(c=Count("pk"), b=Sum("size"))
    return found["c"] or 0, found["b"] or 0


def report(indexed: IndexedBucket, allowed: list[str] | None, prefix: str = "") -> Report:
    whole = allowed is None
    rep = Report(indexed=indexed, prefix=prefix, whole_bucket=whole)
    if not whole and not access.key_allowed(allowed, prefix):
        # Above the user's prefixes: their prefixes are the folders, nothing is summed over others' keys.
        rep.folders = [Folder(p, p[len(prefix) :], *_sums(indexed, p)) for p in allowed if p.startswith(prefix)]
        rep.count, rep.bytes = sum(f.count for f in rep.folders), sum(f.bytes for f in rep.folders)
    else:
        rep.count, rep.bytes = _sums(indexed, prefix)
        children = PrefixStat.objects.filter(indexed=indexed, generation=indexed.stats_generation, parent=prefix)
        children = children.exclude(prefix="")
        shown = list(children.order_by("-bytes", "prefix")[:CHILDREN_SHOWN])
        rep.folders = [Folder(c.prefix, c.prefix[len(prefix) :], c.count, c.bytes) for c in shown]
        if len(shown) == CHILDREN_SHOWN:
            rep.more_folders = children.count() - CHILDREN_SHOWN
        inside = children.aggregate(c=Sum("count"), b=Sum("bytes"))
        rep.here_count = rep.count - (inside["c"] or 0)
        rep.here_bytes = rep.bytes - (inside["b"] or 0)
    top = max((f.bytes for f in rep.folders), default=0)
    for f in rep.folders:
        f.share = round(100 * f.bytes / top, 1) if top else 0.0
    rep.classes = _classes(indexed, allowed, prefix)
    entries = _entries(indexed, allowed, prefix)
    rep.largest = list(entries.order_by("-size", "key")[:TOP_SHOWN])
    rep.oldest = list(entries.filter(last_modified__isnull=False).order_by("last_modified", "key")[:TOP_SHOWN])
    if whole and not prefix:
        since = timezone.localdate() - timedelta(days=365)
        rep.growth = list(Snapshot.objects.filter(indexed=indexed, day__gte=since).order_by("day"))
        rep.outside = list(OutsideChange.objects.filter(indexed=indexed)[:20])
    return rep


def _entries(indexed, allowed, prefix):
    rows = Entry.objects.filter(indexed=indexed).only("key", "size", "last_modified", "storage_class")
    if (scope := scope_q(allowed)) is not None:
        rows = rows.filter(scope)
    return rows.filter(key__startswith=prefix) if prefix else rows


def _classes(indexed, allowed, prefix) -> list[dict]:
    """The storage classes under the prefix: precomputed for every folder the sums know (and the user's role
    covers whole); summed from the entries for a scope that is no such folder."""
    if _summed(prefix) and (allowed is None or access.key_allowed(allowed, prefix)):
        found = ClassStat.objects.filter(
            indexed=indexed, generation=indexed.stats_generation, top=prefix, count__gt=0
        ).values("storage_class", "count", "bytes")
    else:
        found = (
            _entries(indexed, allowed, prefix).values("storage_class").annotate(count=Count("pk"), bytes=Sum("size"))
        )
    classes = sorted(({**c, "bytes": c["bytes"] or 0} for c in found), key=lambda c: -c["bytes"])
    total = sum(c["bytes"] for c in classes) or 1
    for c in classes:
        c["share"] = round(100 * c["bytes"] / total, 1)
    return classes


def growth_points(snapshots: list[Snapshot], width: int = 640, height: int = 160) -> dict | None:
    """The growth chart's polyline (bytes over days), scaled to the SVG's box; None under two points."""
    if len(snapshots) < 2:
        return None
    first, last = snapshots[0].day, snapshots[-1].day
    days = max((last - first).days, 1)
    peak = max(s.bytes for s in snapshots) or 1
    points = " ".join(
        f"{(s.day - first).days / days * width:.1f},{height - s.bytes / peak * height:.1f}" for s in snapshots
    )
    return {"points": points, "width": width, "height": height, "peak": peak, "first": first, "last": last}


def endpoint_totals(endpoint, user) -> list[dict]:
    """Every indexed bucket of the endpoint the user sees whole, with its totals (the endpoint page)."""
    rows = []
    for indexed in IndexedBucket.objects.filter(endpoint=endpoint).order_by("bucket"):
        if access.allowed_prefixes(user, endpoint, indexed.bucket) is None and access.can_see(
            user, endpoint=endpoint, bucket=indexed.bucket
        ):
            rows.append({"indexed": indexed, "freshness": freshness(indexed)})
    return rows


def with_bucket_sizes(buckets: QuerySet) -> QuerySet:
    """``buckets`` (a Bucket queryset) with ``ix_count``, ``ix_bytes`` and ``ix_at`` from the index, in the same query.

    For the bucket list; the three are None for a bucket never indexed completely. Each is a scalar
    subquery written out (Django compiles three ``Subquery`` annotations in ~1.4 ms, these in ~0.4);
    they name the outer table, so ``buckets`` must be the outermost query, never a subquery itself.
    """
    outer, table = Bucket._meta.db_table, IndexedBucket._meta.db_table
    one = (
        f'FROM "{table}" ix WHERE ix.endpoint_id = "{outer}".endpoint_id AND ix.bucket = "{outer}".name'
        " AND ix.indexed_at IS NOT NULL"
    )
    # Constant SQL (table names from the models, no value from a request): nothing to inject.
    return buckets.annotate(
        ix_count=RawSQL(f"SELECT ix.object_count {one}", (), output_field=BigIntegerField()),  # noqa: S611
        ix_bytes=RawSQL(f"SELECT ix.total_bytes {one}", (), output_field=BigIntegerField()),  # noqa: S611
        ix_at=RawSQL(f"SELECT ix.indexed_at {one}", (), output_field=DateTimeField()),  # noqa: S611
    )


def with_folder_sizes(endpoint, bucket: str, folders: list[dict], allowed: list[str] | None) -> bool:
    """Give the folder list's folders ``size``, ``count`` and ``newest`` from a fresh index; False if none."""
    if not folders:  # nothing to size: no query
        return False
    sizes = folder_sizes(endpoint, bucket, [f["prefix"] for f in folders], allowed)
    if sizes is None:
        return False
    for f in folders:
        found = sizes.get(f["prefix"])
        f.update(size=found["bytes"], count=found["count"], newest=found["newest"]) if found else None
    return True


def folder_sizes(endpoint, bucket: str, folders: list[str], allowed: list[str] | None) -> dict[str, dict] | None:
    """Sizes of these folders (a listing's) when the index is fresh: {folder prefix: {count, bytes, newest}}.

    None when the bucket is not indexed or its index is not fresh. For a scoped user, only folders inside
    their prefixes (a folder above them would sum others' keys).
    """
    indexed = IndexedBucket.objects.filter(endpoint=endpoint, bucket=bucket).first()
    if freshness(indexed) != "fresh":
        return None
    rows = PrefixStat.objects.filter(indexed=indexed, generation=indexed.stats_generation, prefix__in=folders)
    return {
        r["prefix"]: {"count": r["count"], "bytes": r["bytes"], "newest": r["newest"]}
        for r in rows.exclude(prefix="").values("prefix", "count", "bytes", "newest")
        if access.key_allowed(allowed, r["prefix"])
    }
