"""Helpers for the copy/move/delete tests: many objects quickly, listings, bucket records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from buckets import s3
from buckets.models import Bucket
from console.models import AuditEvent

# Keys users really have: unicode, spaces, URL-special characters, dots, markup, a trailing "/".
# (SeaweedFS refuses "." and ".." as whole path segments and folds "//": not S3 keys anyone can store there.)
AWKWARD = [
    "awk/ünï cødé ✓.txt",
    "awk/with space.txt",
    "awk/100% sure.txt",
    "awk/a+b=c.txt",
    "awk/#hash.txt",
    "awk/what?.txt",
    "awk/this&that.txt",
    "awk/..dots..txt",
    "awk/<script>alert(1)</script>.html",
    "awk/folder marker/",
]


def put_many(client, bucket: str, keys: list[str], body: bytes = b"x", workers: int = 16) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body), keys))


def list_keys(client, bucket: str, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def url(name: str, endpoint, bucket: str, **query) -> str:
    base = reverse(name, args=[endpoint.pk, bucket])
    return f"{base}?{urlencode(query)}" if query else base


def events(action: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


@pytest.fixture(name="records")
def records_fixture(endpoint):
    """Bucket records (as a sync would make them): destinations must be known buckets of the endpoint."""

    def make(*names: str) -> None:
        for name in names:
            Bucket.objects.get_or_create(endpoint=endpoint, name=name)

    return make


@pytest.fixture(name="calls")
def calls_fixture():
    """S3 calls made from here on, by operation name."""
    s3.CALL_COUNTS.clear()
    return s3.CALL_COUNTS
