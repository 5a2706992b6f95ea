"""Opting buckets in and out of the index (admins), each one audited change."""

from __future__ import annotations

from buckets import s3
from buckets.models import Job
from catalog.models import IndexedBucket
from catalog.services import crawl
from console import audit
from console.models import Endpoint


def index_enable(
    *,
    actor: audit.Actor,
    endpoint: Endpoint,
    bucket: str,
    with_versions: bool = False,
    with_details: bool = False,
    requests_per_second: float | None = None,
    recrawl_hours: int | None = None,
) -> tuple[IndexedBucket, Job]:
    """Index the bucket (or change its index settings) and start a crawl."""
    settings_ = {
        "with_versions": with_versions, "with_details": with_details,
        "requests_per_second": requests_per_second, "recrawl_hours": recrawl_hours,
    }  # fmt: skip
    with audit.change(actor, "index.enable", endpoint=endpoint, bucket=bucket, params=settings_) as ev:
        indexed, created = IndexedBucket.objects.update_or_create(endpoint=endpoint, bucket=bucket, defaults=settings_)
        ev.after = {"created": created, **settings_}
    return indexed, crawl.index_crawl_start(actor=actor, indexed=indexed)


def index_enable_endpoint(*, actor: audit.Actor, endpoint: Endpoint, **options) -> list[IndexedBucket]:
    """Every bucket the endpoint lists (one crawl job each, run by whichever workers are free)."""
    names = [b["name"] for b in s3.list_buckets(endpoint=endpoint)]
    return [index_enable(actor=actor, endpoint=endpoint, bucket=name, **options)[0] for name in names]


def index_disable(*, actor: audit.Actor, indexed: IndexedBucket) -> None:
    """Forget the bucket's index (its entries, sums and history); S3 is not touched."""
    before = {"objects": indexed.object_count, "bytes": indexed.total_bytes}
    with audit.change(actor, "index.disable", endpoint=indexed.endpoint, bucket=indexed.bucket, before=before):
        indexed.delete()
