"""Bulk actions whose effect only AWS has, on moto: restoring archived objects, canned ACLs enforced."""

from __future__ import annotations

import pytest

from buckets import s3
from buckets.models import Job
from tests.transfer_fixtures import events, url

pytest_plugins = ["tests.bucket_settings_fixtures"]
B = "moto-bucket"
pytestmark = pytest.mark.django_db


def _start(client, ep, **data) -> Job:
    response = client.post(url("bulk_start", ep, B), {"source": "prefix", "rate": "0", **data})
    assert response.status_code == 302, response.content.decode()[:1500]
    return Job.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_restore_asks_for_the_archived_objects_only(clients, moto_endpoint):
    raw = s3.client_for(moto_endpoint)
    raw.put_object(Bucket=B, Key="cold/a.bin", Body=b"a", StorageClass="GLACIER")
    raw.put_object(Bucket=B, Key="cold/b.bin", Body=b"b", StorageClass="DEEP_ARCHIVE")
    raw.put_object(Bucket=B, Key="cold/c.bin", Body=b"c")  # not archived: left alone
    review = clients["operator"].post(
        url("bulk_review", moto_endpoint, B), {"source": "prefix", "prefix": "cold/", "action": "restore", "days": "3"}
    )
    assert 'data-dry-run-count="2"' in review.content.decode()
    job = _start(clients["operator"], moto_endpoint, prefix="cold/", action="restore", days="3", tier="Bulk")
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 2, 0), job.message
    assert 'ongoing-request="false"' in raw.head_object(Bucket=B, Key="cold/a.bin").get("Restore", "")
    assert "Restore" in raw.head_object(Bucket=B, Key="cold/b.bin")
    assert "Restore" not in raw.head_object(Bucket=B, Key="cold/c.bin")
    assert len(events("bulk.restore.start")) == 1 and len(events("bulk.restore")) == 1


def test_canned_acl_makes_objects_public_for_an_admin(clients, moto_endpoint):
    raw = s3.client_for(moto_endpoint)
    for key in ("pub/a.txt", "pub/b.txt", "priv/c.txt"):
        raw.put_object(Bucket=B, Key=key, Body=b"x")
    assert clients["operator"].post(url("bulk_start", moto_endpoint, B), {
        "source": "prefix", "prefix": "pub/", "action": "acl", "canned": "public-read"}).status_code == 403  # fmt: skip
    job = _start(clients["admin"], moto_endpoint, prefix="pub/", action="acl", canned="public-read")
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 2)

    def public(key):
        return any(
            g["Grantee"].get("URI", "").endswith("AllUsers") for g in raw.get_object_acl(Bucket=B, Key=key)["Grants"]
        )

    assert public("pub/a.txt") and public("pub/b.txt") and not public("priv/c.txt")
