"""Changes to buckets and their records, each through the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from buckets import s3
from buckets.models import Bucket
from console import audit
from console.models import Endpoint


@dataclass
class SyncResult:
    endpoint: Endpoint
    added: list[str]
    removed: list[str]
    total: int


def buckets_sync(*, actor: audit.Actor, endpoint: Endpoint) -> SyncResult:
    """Make the bucket records of an endpoint match ListBuckets: add new, update, remove vanished."""
    with audit.change(actor, "buckets.sync", endpoint=endpoint) as ev:
        listed = s3.list_buckets(endpoint=endpoint)
        now = timezone.now()
        with transaction.atomic():
            existing = {b.name: b for b in Bucket.objects.filter(endpoint=endpoint)}
            seen = {item["name"] for item in listed}
            added = [item for item in listed if item["name"] not in existing]
            Bucket.objects.bulk_create(
                [
                    Bucket(
                        endpoint=endpoint,
                        name=item["name"],
                        created=item["created"],
                        region=item["region"] or "",
                        last_synced=now,
                    )
                    for item in added
                ],
                batch_size=500,
            )
            to_update = []
            for item in listed:
                record = existing.get(item["name"])
                if record is not None:
                    record.created = item["created"]
                    record.region = item["region"] or record.region
                    record.last_synced = now
                    to_update.append(record)
            Bucket.objects.bulk_update(to_update, ["created", "region", "last_synced"], batch_size=500)
            removed = sorted(set(existing) - seen)
            Bucket.objects.filter(endpoint=endpoint, name__in=removed).delete()
        ev.after = {"total": len(listed), "added": [i["name"] for i in added][:100], "removed": removed[:100]}
    return SyncResult(endpoint, [i["name"] for i in added], removed, len(listed))
