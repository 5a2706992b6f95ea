"""Buckets as a whole: creating one, and keeping the bucket records in step with ListBuckets."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from buckets import s3
from buckets.models import Bucket
from buckets.services import bucket_settings
from buckets.services.sections import Target, section_change
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


CREATE_REFUSALS = {
    "BucketAlreadyExists": "That name is taken: bucket names are shared by every account of the S3 service.",
    "BucketAlreadyOwnedByYou": "This endpoint already has a bucket with that name.",
    "InvalidBucketName": "The S3 server rejected this name as invalid.",
    "InvalidLocationConstraint": "The S3 server does not accept this region here.",
    "IllegalLocationConstraintException": "The S3 server does not accept this region here.",
    "AccessDenied": "The endpoint's credentials may not create buckets.",
    "TooManyBuckets": "The account has reached its bucket limit.",
}


class BucketRefused(Exception):
    """CreateBucket refused; ``field`` is the form field the message belongs to ("name" or None)."""

    def __init__(self, message: str, field: str | None):
        super().__init__(message)
        self.message, self.field = message, field


def bucket_create(
    *, actor: audit.Actor, endpoint: Endpoint, name: str, region: str, object_lock: bool, versioning: bool, tags: dict
) -> tuple[Bucket, list[str]]:
    """CreateBucket (audited, with the bucket record), then versioning and tags as their own audited changes.

    Returns the record and the problems of the follow-up settings (the bucket exists even if they failed).
    """
    params = {"name": name, "region": region, "object_lock": object_lock, "versioning": versioning, "tags": tags}
    try:
        with audit.change(actor, "bucket.create", endpoint=endpoint, bucket=name, params=params) as ev:
            s3.create_bucket(endpoint=endpoint, bucket=name, region=region, object_lock=object_lock)
            ev.after = {"name": name, "region": region or "us-east-1", "object_lock": object_lock}
    except s3.S3Error as exc:
        code = exc.code
        if code == "BucketAlreadyExists" and Bucket.objects.filter(endpoint=endpoint, name=name).exists():
            code = "BucketAlreadyOwnedByYou"  # SeaweedFS and others answer so for a bucket of your own
        raise BucketRefused(CREATE_REFUSALS.get(code, exc.user_message), "name" if "Bucket" in code else None) from exc
    now = timezone.now()  # the console knows the bucket as of now: it just made it
    try:
        record = Bucket.objects.create(
            endpoint=endpoint, name=name, region=region or "us-east-1", created=now, last_synced=now
        )
    except IntegrityError:
        record = Bucket.objects.get(endpoint=endpoint, name=name)
    target = Target(endpoint, name, record=record)
    steps = []
    if versioning and not object_lock:  # object lock turns versioning on by itself
        steps.append(
            ("versioning", bucket_settings.write_versioning, {"status": "Enabled"}, "Versioning could not be enabled")
        )
    if tags:
        steps.append(("tags", bucket_settings.write_tags, {"tags": list(tags.items())}, "The tags could not be set"))
    problems = []
    for slug, write, data, failure in steps:
        try:
            section_change(
                actor=actor, target=target, action=f"bucket.{slug}.put", lock=slug, read=_READERS[slug],
                apply=lambda before, write=write, data=data: write(target, data, before), params=data,
            )  # fmt: skip
        except s3.S3Error as exc:
            problems.append(f"{failure}: {exc.user_message}")
    return record, problems


_READERS = {
    "versioning": bucket_settings.getter(s3.get_bucket_versioning),
    "tags": bucket_settings.getter(s3.get_bucket_tags),
}
