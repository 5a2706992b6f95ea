"""Helpers for the bucket page tests: bucket records, logged-in clients, S3 call counting, URLs."""

from __future__ import annotations

import contextlib

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from buckets import s3
from buckets.models import Bucket
from console.models import Endpoint

HTMX = {"HTTP_HX_REQUEST": "true"}


def record(endpoint: Endpoint, name: str) -> Bucket:
    return Bucket.objects.get_or_create(endpoint=endpoint, name=name, defaults={"created": timezone.now()})[0]


def seaweed_endpoint(seaweed, name: str, url: str = "") -> Endpoint:
    """An Endpoint with the test SeaweedFS's keys, at ``url`` when given (a proxy in front of it)."""
    ep = Endpoint(name=name, url=url or seaweed.url, addressing_style=Endpoint.Addressing.PATH,
                  credential_source=Endpoint.CredentialSource.KEYS, access_key_id=seaweed.ids.access_key)  # fmt: skip
    ep.set_secret_access_key(seaweed.ids.secret_key)
    ep.save()
    return ep


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@contextlib.contextmanager
def no_s3_calls():
    """Fails when anything inside calls S3."""
    before = sum(s3.CALL_COUNTS.values())
    yield
    assert sum(s3.CALL_COUNTS.values()) == before, "an S3 call was made"


def url(name: str, endpoint: Endpoint, bucket: str, *extra) -> str:
    return reverse(name, args=[endpoint.pk, bucket, *extra])
