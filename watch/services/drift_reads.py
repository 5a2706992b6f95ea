"""Drift, the reading half: every setting a pass reads, and one bucket's reads (threads; no database but
the snapshots' names), for ``watch.services.drift`` to settle."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from buckets import s3
from buckets.sections import BUCKET_SECTIONS
from buckets.services import bucket_settings
from buckets.services.sections import Target, known_unsupported_all, normalised
from console.models import Endpoint
from watch.models import BucketSnapshot


@dataclass(frozen=True)
class Setting:
    name: str  # the audit action's middle part: bucket.<name>.put / bucket.<name>.external
    title: str
    read: Callable[[Target], Any]
    feature: str  # UnsupportedFeature / section slug, and the lock name a console save holds
    fingerprint: Callable[[Any], Any] = lambda value: value


SETTINGS: list[Setting] = [
    *(
        Setting(spec.slug.replace("-", "_"), spec.title, spec.read, spec.slug, spec.fingerprint)
        for spec in BUCKET_SECTIONS
        if spec.slug != "overview"
    ),
    Setting("replication", "Replication", bucket_settings.getter(s3.get_bucket_replication), "replication"),
    Setting("notification", "Event notifications", bucket_settings.getter(s3.get_bucket_notification), "notification"),
]
BY_NAME = {s.name: s for s in SETTINGS}
TITLES = {s.name: s.title for s in SETTINGS} | {"create": "Bucket created", "delete": "Bucket deleted"}


@dataclass
class BucketRead:
    """What one bucket's reads gave: values, what could not be read (and why), whether it is gone."""

    state: dict = field(default_factory=dict)
    unchecked: dict = field(default_factory=dict)
    unsupported: list = field(default_factory=list)  # (feature, S3Error) to remember, in the caller's thread
    gone: bool = False


# --- reading (threads; no database) ----------------------------------------------------------------
def read_bucket(endpoint: Endpoint, bucket: str, skip: Iterable[str] = ()) -> BucketRead:
    result = BucketRead()
    target = Target(endpoint, bucket)
    for setting in SETTINGS:
        if setting.feature in skip:
            result.unchecked[setting.name] = "not supported by this endpoint"
            continue
        try:
            result.state[setting.name] = normalised(setting.fingerprint(setting.read(target)))
        except s3.S3Error as exc:
            if exc.code == "NoSuchBucket":
                return BucketRead(gone=True)
            if exc.not_supported:
                result.unchecked[setting.name] = "not supported by this endpoint"
                result.unsupported.append((setting.feature, exc))
            else:
                result.unchecked[setting.name] = exc.user_message[:200]
            if exc.timed_out:  # the budget is spent: the other reads would fail alike
                for rest in SETTINGS:
                    if rest.name not in result.state:
                        result.unchecked.setdefault(rest.name, exc.user_message[:200])
                return result
    return result


def read_buckets(endpoint: Endpoint, names: list[str]) -> dict[str, BucketRead]:
    """Every bucket's settings, ``DRIFT_CHECK_THREADS`` buckets at a time (each keeps the caller's budget)."""
    skip = set(known_unsupported_all(endpoint, [s.feature for s in SETTINGS]))
    if len(names) <= 1:
        return {name: read_bucket(endpoint, name, skip) for name in names}
    with ThreadPoolExecutor(max_workers=min(len(names), settings.DRIFT_CHECK_THREADS)) as pool:
        run = contextvars.copy_context
        futures = {name: pool.submit(run().run, read_bucket, endpoint, name, skip) for name in names}
        return {name: future.result() for name, future in futures.items()}


def unlisted_but_there(endpoint: Endpoint, listed: list[str]) -> dict[str, str]:
    """Buckets with a snapshot that ListBuckets left out but that still answer HeadBucket (credentials that
    list only some buckets, as MinIO's and SeaweedFS's per-bucket policies do), each with why it was not
    checked: they are not deleted. Only a bucket the endpoint says is not there is."""
    missing = (
        BucketSnapshot.objects.filter(endpoint=endpoint).exclude(bucket__in=listed).values_list("bucket", flat=True)
    )
    there = {}
    for name in missing:
        try:
            s3.head_bucket(endpoint=endpoint, bucket=name)
        except s3.S3Error as exc:
            if exc.code in ("NoSuchBucket", "404"):
                continue
            if exc.code not in ("AccessDenied", "403"):
                there[name] = f"not in the bucket list, and HeadBucket failed: {exc.user_message[:150]}"
                continue
        there[name] = "not in the bucket list these credentials see, but it still answers HeadBucket"
    return there
