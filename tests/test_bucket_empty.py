"""Empty a bucket, delete a bucket, count its objects: dry run, typed confirmation, jobs, object lock, audit."""

from __future__ import annotations

import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from django.urls import reverse

from buckets import s3
from buckets.models import Bucket, Job
from buckets.services import emptying
from console.models import AuditEvent
from tests.objects_fixtures import fast_client, put_many


def _remaining(client, bucket: str) -> tuple[int, int, int]:
    versions = markers = 0
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions += len(page.get("Versions", []))
        markers += len(page.get("DeleteMarkers", []))
    return versions, markers, len(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def _confirm(client, name: str, endpoint, bucket: str, typed: str | None = None):
    url = reverse(name, args=[endpoint.pk, bucket])
    return client.post(url, {"confirm": bucket if typed is None else typed})


def _job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:500]
    job = Job.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])
    return job


# --- the one big test: 5,000 keys with several versions each ---------------------------------
def test_empty_versioned_bucket_of_5000_keys(admin_client, endpoint, seaweed, s3client, make_bucket):
    bucket = make_bucket("big", versioned=True)
    fast = fast_client(seaweed)
    keys = [f"data/{i // 100:03d}/file-{i:05d}.txt" for i in range(5000)]
    put_many(fast, bucket, keys, b"v1")  # 5,000 × 2 bytes
    put_many(fast, bucket, keys, b"v2-")  # 5,000 × 3 bytes, v1 becomes noncurrent
    third = keys[::10]  # 500 keys get a third version
    put_many(fast, bucket, third, b"v3-x")
    deleted = keys[1::20]  # 250 keys end with a delete marker
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: fast.delete_object(Bucket=bucket, Key=k), deleted))
    for _ in range(2):
        fast.create_multipart_upload(Bucket=bucket, Key="incomplete/upload.bin")

    objects = 5000 - len(deleted)
    versions = 5000 * 2 + len(third) - objects
    markers = len(deleted)
    total_bytes = 5000 * 2 + 5000 * 3 + len(third) * 4
    entries = objects + versions + markers

    page = admin_client.get(reverse("bucket_empty", args=[endpoint.pk, bucket]))
    html = page.content.decode()
    assert page.status_code == 200
    for shown in (f"{objects:,}", f"{versions:,}", f"{markers:,}"):
        assert f'<div class="value">{shown}</div>' in html
    assert '<div class="value">2</div><div class="label">incomplete uploads' in html
    assert "every version and every delete marker goes" in html
    assert "retention or legal hold" not in html
    assert f"Type “{bucket}” to confirm" in html
    assert f'data-confirm-value="{bucket}"' in html

    before = s3.CALL_COUNTS["DeleteObjects"]
    job = _job(_confirm(admin_client, "bucket_empty", endpoint, bucket))
    calls = s3.CALL_COUNTS["DeleteObjects"] - before

    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert (job.total, job.done, job.failed) == (entries + 2, entries + 2, 0)
    assert job.done_bytes == total_bytes
    assert calls <= math.ceil(entries / 1000) + 2
    assert _remaining(s3client, bucket) == (0, 0, 0)
    assert s3client.head_bucket(Bucket=bucket)  # emptied, not deleted

    start = AuditEvent.objects.get(action="bucket.empty.start", bucket=bucket)
    assert start.params == {"job_id": str(job.pk)} and start.actor_name == "alice"
    outcome = AuditEvent.objects.get(action="bucket.empty", bucket=bucket)
    assert outcome.outcome == "ok" and outcome.actor_name == "alice"
    counted = outcome.params["counted"]  # what the job counted before it started deleting
    assert (counted["objects"], counted["versions"], counted["delete_markers"]) == (objects, versions, markers)
    assert counted["uploads"] == 2 and counted["bytes"] == total_bytes
    assert (outcome.params["deleted"], outcome.params["failed"], outcome.params["aborted_uploads"]) == (entries, 0, 2)
    assert start.pk < outcome.pk

    job_page = admin_client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert f"Emptied: deleted {entries:,} versions and delete markers" in job_page


# --- small buckets ----------------------------------------------------------------------------
def test_delete_bucket_end_to_end(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("del")
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    for i in range(5):
        s3client.put_object(Bucket=bucket, Key=f"a <&> b/{i}", Body=b"12345")
    s3client.create_multipart_upload(Bucket=bucket, Key="big.iso")

    page = admin_client.get(reverse("bucket_delete", args=[endpoint.pk, bucket])).content.decode()
    assert '<div class="value">5</div><div class="label">objects' in page
    assert "Then the bucket itself is deleted" in page
    assert "Every object goes." in page and "every version and every delete marker" not in page

    job = _job(_confirm(admin_client, "bucket_delete", endpoint, bucket))
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert job.message == f"Bucket “{bucket}” deleted: deleted 5 objects (25 bytes) and aborted 1 incomplete upload."
    assert bucket not in [b["Name"] for b in s3client.list_buckets()["Buckets"]]
    assert not Bucket.objects.filter(endpoint=endpoint, name=bucket).exists()
    job_page = admin_client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert f"/b/{endpoint.pk}/{bucket}/" not in job_page and "All buckets" in job_page  # no link to what is gone

    rows = list(AuditEvent.objects.filter(bucket=bucket).order_by("id").values_list("action", "outcome"))
    assert rows == [("bucket.delete.start", "ok"), ("bucket.delete", "ok")]
    counted = AuditEvent.objects.get(action="bucket.delete", bucket=bucket).params["counted"]
    assert (counted["objects"], counted["uploads"], counted["versioning"]) == (5, 1, "")


def test_wrong_typed_name_deletes_nothing(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("keep")
    s3client.put_object(Bucket=bucket, Key="precious", Body=b"1")
    for name in ("bucket_empty", "bucket_delete"):
        for typed in (bucket.upper(), bucket[:-1], ""):
            response = _confirm(admin_client, name, endpoint, bucket, typed=typed)
            assert response.status_code == 422
            html = response.content.decode()
            assert "Nothing was deleted" in html or "This field is required" in html
            assert '<div class="value">1</div><div class="label">object' in html  # the dry run is shown again
    assert s3client.get_object(Bucket=bucket, Key="precious")["Body"].read() == b"1"
    assert not Job.objects.exists()
    assert not AuditEvent.objects.filter(bucket=bucket).exists()


@pytest.fixture
def locked_bucket(s3client):
    """A bucket with object lock: one object under GOVERNANCE retention, one free; cleaned up with the bypass."""
    import uuid

    name = f"lock-{uuid.uuid4().hex[:16]}"
    s3client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    locked = s3client.put_object(
        Bucket=name, Key="ledger/2026.csv", Body=b"kept", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until
    )
    s3client.put_object(Bucket=name, Key="scratch.tmp", Body=b"free")
    yield name, locked["VersionId"]
    for v in s3client.list_object_versions(Bucket=name).get("Versions", []):
        s3client.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
    s3client.delete_bucket(Bucket=name)


def test_object_lock_reports_the_protected_key(admin_client, endpoint, s3client, locked_bucket):
    bucket, version_id = locked_bucket
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    page = admin_client.get(reverse("bucket_delete", args=[endpoint.pk, bucket])).content.decode()
    assert "Versions under retention or legal hold cannot be deleted" in page
    assert "and the bucket is then not deleted" in page

    job = _job(_confirm(admin_client, "bucket_empty", endpoint, bucket))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert (job.done, job.failed) == (1, 1)
    assert len(job.errors) == 1
    error = job.errors[0]
    assert (error["key"], error["version_id"], error["code"]) == ("ledger/2026.csv", version_id, "AccessDenied")
    assert "object lock" in error["message"]
    assert job.message.startswith("Not emptied: 1 version could not be deleted (listed below")
    left = s3client.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in left.get("Versions", [])] == ["ledger/2026.csv"]
    outcome = AuditEvent.objects.get(action="bucket.empty", bucket=bucket)
    assert (outcome.outcome, outcome.error_code, outcome.params["failed"]) == ("failed", "AccessDenied", 1)
    page = admin_client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "ledger/2026.csv" in page and "AccessDenied" in page

    # Deleting it stops before DeleteBucket: the bucket and its record stay.
    job = _job(_confirm(admin_client, "bucket_delete", endpoint, bucket))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.message.startswith("Bucket not deleted: 1 version could not be deleted")
    assert s3client.head_bucket(Bucket=bucket)
    assert Bucket.objects.filter(endpoint=endpoint, name=bucket).exists()
    assert AuditEvent.objects.get(action="bucket.delete", bucket=bucket).outcome == "failed"


def test_failure_half_way_says_what_is_left(admin_client, endpoint, s3client, make_bucket, monkeypatch):
    bucket = make_bucket("half")
    put_many(s3client, bucket, [f"k{i:02d}" for i in range(30)])
    monkeypatch.setattr(emptying, "PAGE_SIZE", 10)
    real = s3.delete_objects
    calls = []

    def flaky(**kwargs):
        calls.append(len(kwargs["entries"]))
        if len(calls) > 1:
            raise s3.S3Error("InternalError", "We encountered an internal error.", "REQ123", 500)
        return real(**kwargs)

    monkeypatch.setattr(s3, "delete_objects", flaky)
    job = _job(_confirm(admin_client, "bucket_delete", endpoint, bucket))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert (job.done, job.total) == (10, 30)
    assert "We encountered an internal error." in job.message
    assert "Still in the bucket: 20 objects, 0 incomplete uploads." in job.message
    assert s3client.list_objects_v2(Bucket=bucket)["KeyCount"] == 20
    outcome = AuditEvent.objects.get(action="bucket.delete", bucket=bucket)
    assert (outcome.outcome, outcome.error_code, outcome.request_id) == ("failed", "InternalError", "REQ123")
    assert outcome.params["deleted"] == 10 and "20 objects" in outcome.params["left"]


def test_count_objects_stores_the_count(operator_client, endpoint, s3client, make_bucket, monkeypatch):
    bucket = make_bucket("count", versioned=True)
    put_many(s3client, bucket, [f"p/{i}" for i in range(25)], b"abcd")
    s3client.put_object(Bucket=bucket, Key="p/0", Body=b"newer")  # an older version is not counted
    monkeypatch.setattr(emptying, "PAGE_SIZE", 10)
    before = s3.CALL_COUNTS["ListObjectsV2"]

    job = _job(operator_client.post(reverse("bucket_count", args=[endpoint.pk, bucket])))
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == 25
    assert s3.CALL_COUNTS["ListObjectsV2"] - before == 3
    record = Bucket.objects.get(endpoint=endpoint, name=bucket)
    assert (record.object_count, record.total_bytes) == (25, 24 * 4 + 5)
    assert record.counted_at is not None
    assert AuditEvent.objects.get(action="bucket.count", bucket=bucket).after == {"objects": 25, "bytes": 101}


# --- who may ----------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["viewer", "operator"])
def test_viewer_and_operator_may_not_empty_or_delete(who, request, endpoint, s3client, make_bucket):
    client = request.getfixturevalue(f"{who}_client")
    bucket = make_bucket("deny")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"1")
    for name in ("bucket_empty", "bucket_delete"):
        assert client.get(reverse(name, args=[endpoint.pk, bucket])).status_code == 403
        assert _confirm(client, name, endpoint, bucket).status_code == 403
    denied = AuditEvent.objects.filter(bucket=bucket, outcome="denied")
    assert sorted(set(denied.values_list("action", flat=True))) == ["bucket.delete", "bucket.empty"]
    assert denied.count() == 4
    assert s3client.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert not Job.objects.exists()


def test_viewer_may_not_count(viewer_client, endpoint, make_bucket):
    bucket = make_bucket("deny")
    assert viewer_client.post(reverse("bucket_count", args=[endpoint.pk, bucket])).status_code == 403
    assert AuditEvent.objects.get(bucket=bucket, outcome="denied").action == "bucket.count"


def test_no_role_on_the_endpoint_is_not_found(client, nobody_user, endpoint, s3client, make_bucket):
    client.force_login(nobody_user)
    bucket = make_bucket("hidden")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"1")
    for name in ("bucket_empty", "bucket_delete", "bucket_count"):
        assert client.post(reverse(name, args=[endpoint.pk, bucket]), {"confirm": bucket}).status_code == 404
    assert client.get(reverse("bucket_empty", args=[endpoint.pk, bucket])).status_code == 404
    assert s3client.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert not Job.objects.exists()


def test_get_only_or_post_only(admin_client, endpoint, make_bucket):
    bucket = make_bucket("meth")
    assert admin_client.get(reverse("bucket_count", args=[endpoint.pk, bucket])).status_code == 405
    assert admin_client.put(reverse("bucket_empty", args=[endpoint.pk, bucket])).status_code == 405


def test_bucket_page_offers_the_jobs_by_role(admin_user, operator_user, viewer_user, endpoint, make_bucket):
    bucket = make_bucket("page")
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    url = reverse("bucket_detail", args=[endpoint.pk, bucket])
    count, empty, delete = (
        reverse(n, args=[endpoint.pk, bucket]) for n in ("bucket_count", "bucket_empty", "bucket_delete")
    )

    def page(user) -> str:
        client = Client()
        client.force_login(user)
        return client.get(url).content.decode()

    html = page(admin_user)
    assert f'action="{count}"' in html and f'href="{empty}"' in html and f'href="{delete}"' in html
    html = page(operator_user)
    assert f'action="{count}"' in html and empty not in html and delete not in html
    html = page(viewer_user)
    assert "Whole bucket" not in html and count not in html


def test_incomplete_uploads_are_paged_past_the_first_page(endpoint, make_bucket, s3client):
    """SeaweedFS pages ListMultipartUploads by upload id only; every page must still be reached."""
    from concurrent.futures import ThreadPoolExecutor

    from buckets import s3

    name = make_bucket("uploads")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3client.create_multipart_upload(Bucket=name, Key=f"u/{i:03}"), range(250)))
    pages = list(s3.iter_upload_pages(endpoint=endpoint, bucket=name, page_size=100))
    keys = [u["key"] for page in pages for u in page]
    assert len(pages) >= 3
    assert sorted(set(keys)) == [f"u/{i:03}" for i in range(250)]
