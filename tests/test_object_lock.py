"""Object-lock buckets with a default retention: every write the console makes there works.

AWS refuses a write into such a bucket without an integrity header (Content-MD5 or a checksum):
"MissingUploadObjectWithObjectLockHeaders" (for a part: "Content-MD5 OR x-amz-checksum- HTTP header is
required for Put Part requests with Object Lock parameters"). The console's copies (CopyObject,
UploadPartCopy) carry the MD5 of their empty body; its uploads, whole files and parts, go through the
console (where botocore adds a checksum) instead of presigned requests the browser could not sign one
into. Checked on moto (which enforces the rule for PUTs, not for parts: the headers of parts are checked
here) and on SeaweedFS (which implements object lock), each result read back with a plain boto3 client.
A version under retention is explained when deleting it, and governance can be bypassed.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from html import unescape

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from moto import mock_aws

from buckets import s3
from buckets.models import Bucket, Job
from buckets.services import copying
from console.models import AuditEvent, Endpoint
from tests.conftest import wait_until_known
from tests.objects_fixtures import section_url, url

HTMX = {"HTTP_HX_REQUEST": "true"}
RETENTION = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}


@pytest.fixture(params=["moto", "seaweedfs"])
def locked(request, db, seaweed):
    """(endpoint, bucket, raw client) of an object-lock bucket with a one-day governance default retention."""
    name = f"lock-{uuid.uuid4().hex[:16]}"
    if request.param == "moto":
        with mock_aws():
            endpoint = Endpoint(name="moto", url="", region="us-east-1", credential_source="keys")
            endpoint.access_key_id = "testing"
            endpoint.set_secret_access_key("testing")
            endpoint.save()
            raw = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
            yield _prepare(endpoint, name, raw)
            s3.forget_client(endpoint)
        return
    endpoint = Endpoint(name="local", url=seaweed.url, addressing_style="path", credential_source="keys")
    endpoint.access_key_id = seaweed.ids.access_key
    endpoint.set_secret_access_key(seaweed.ids.secret_key)
    endpoint.save()
    raw = seaweed.client()
    yield _prepare(endpoint, name, raw)
    _remove(raw, name)


def _prepare(endpoint, name, raw):
    raw.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    wait_until_known(raw, name)
    raw.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=RETENTION)
    raw.put_object(Bucket=name, Key="doc.txt", Body=b"first", ContentType="text/plain", Metadata={"v": "1"})
    Bucket.objects.create(endpoint=endpoint, name=name)
    return endpoint, name, raw


def _remove(raw, name):
    try:
        for page in raw.get_paginator("list_object_versions").paginate(Bucket=name):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                raw.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
        raw.delete_bucket(Bucket=name)
    except Exception:  # noqa: S110 - cleanup must not hide the test's own result
        pass


def _sent_headers(endpoint, operation: str) -> list[dict]:
    """The headers of each ``operation`` request the console's client signs from now on."""
    sent: list[dict] = []
    s3.client_for(endpoint).meta.events.register(
        f"before-sign.s3.{operation}", lambda request, **kwargs: sent.append(dict(request.headers))
    )  # registered after the console's own hooks, so it sees what they added
    return sent


def _has_integrity_header(headers: dict) -> bool:
    """Content-MD5, a checksum header, or a checksum in the trailer (botocore's way over HTTPS)."""
    names = {name.lower(): str(value).lower() for name, value in headers.items()}
    trailer = names.get("x-amz-trailer", "").startswith("x-amz-checksum-")
    return "content-md5" in names or trailer or any(name.startswith("x-amz-checksum-") for name in names)


def _seen(client, slug, endpoint, bucket, key="doc.txt") -> str:
    page = client.get(section_url("edit", slug, endpoint, bucket, key=key), **HTMX).content.decode()
    return unescape(re.search(r'name="seen" value="([^"]*)"', page).group(1))


def test_metadata_storage_class_copy_and_restore_work(locked, admin_client):
    endpoint, bucket, raw = locked
    first_version = raw.head_object(Bucket=bucket, Key="doc.txt")["VersionId"]

    seen = _seen(admin_client, "metadata", endpoint, bucket)
    edited = admin_client.post(
        section_url("save", "metadata", endpoint, bucket),
        {"key": "doc.txt", "seen": seen, "content_type": "text/plain", "meta_key": ["v"], "meta_value": ["2"]},
        **HTMX,
    )
    assert edited.status_code == 200, edited.content.decode()[-600:]
    assert raw.head_object(Bucket=bucket, Key="doc.txt")["Metadata"] == {"v": "2"}

    seen = _seen(admin_client, "storage", endpoint, bucket)
    moved = admin_client.post(
        section_url("save", "storage", endpoint, bucket),
        {"key": "doc.txt", "seen": seen, "storage_class": "STANDARD_IA"},
        **HTMX,
    )
    assert moved.status_code == 200, moved.content.decode()[-600:]
    assert raw.head_object(Bucket=bucket, Key="doc.txt")["StorageClass"] == "STANDARD_IA"

    copied = admin_client.post(
        url("object_copy", endpoint, bucket, key="doc.txt"), {"dest_bucket": bucket, "dest_key": "copy.txt"}
    )
    assert copied.status_code == 302, copied.content.decode()[-600:]
    assert raw.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"first"

    restored = admin_client.post(
        reverse("object_version_restore", args=[endpoint.pk, bucket]), {"key": "doc.txt", "version_id": first_version}
    )
    assert restored.status_code == 302
    head = raw.head_object(Bucket=bucket, Key="doc.txt")
    assert head["Metadata"] == {"v": "1"} and head["VersionId"] != first_version
    assert AuditEvent.objects.filter(action="object.version.restore", outcome="ok").count() == 1


def test_a_copy_above_the_threshold_goes_part_by_part(locked, admin_client, monkeypatch):
    endpoint, bucket, raw = locked
    monkeypatch.setattr(copying, "MULTIPART_COPY_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(copying, "MULTIPART_COPY_PART_SIZE", 5 * 1024 * 1024)
    raw.put_object(Bucket=bucket, Key="big.bin", Body=b"b" * (6 * 1024 * 1024))
    seen = _seen(admin_client, "metadata", endpoint, bucket, key="big.bin")
    s3.CALL_COUNTS.clear()
    sent = _sent_headers(endpoint, "UploadPartCopy")
    answer = admin_client.post(
        section_url("save", "metadata", endpoint, bucket),
        {"key": "big.bin", "seen": seen, "content_type": "application/x-big", "meta_key": ["p"], "meta_value": ["1"]},
        **HTMX,
    )
    assert answer.status_code == 200, answer.content.decode()[-600:]
    assert s3.CALL_COUNTS["UploadPartCopy"] == 2
    # moto does not check parts; AWS does ("... required for Put Part requests with Object Lock parameters").
    assert len(sent) == 2 and all(headers.get("Content-MD5") == "1B2M2Y8AsgTpgAmY7PhCfg==" for headers in sent)
    assert raw.head_object(Bucket=bucket, Key="big.bin")["Metadata"] == {"p": "1"}


def test_uploads_in_both_flows(locked, admin_client):
    endpoint, bucket, raw = locked
    start = reverse("upload_start", args=[endpoint.pk, bucket])

    def begin(key: str, size: int, method: str) -> dict:
        body = {"key": key, "size": size, "method": method, "content_type": "text/plain"}
        answer = admin_client.post(start, json.dumps(body), content_type="application/json")
        assert answer.status_code == 200, answer.content
        return answer.json()

    # A small file: no presigned PUT (the browser could not add the integrity header): through the console.
    plan = begin("small.txt", 5, "direct")
    assert "put" not in plan and not plan["multipart"]
    put = admin_client.post(
        reverse("upload_put", args=[endpoint.pk, bucket]), b"hello", content_type="application/octet-stream",
        HTTP_X_UPLOAD_TOKEN=plan["token"],
    )  # fmt: skip
    assert put.status_code == 200, put.content
    assert raw.get_object(Bucket=bucket, Key="small.txt")["Body"].read() == b"hello"

    # A big one in parts. AWS wants a checksum on each part too ("required for Put Part requests with Object
    # Lock parameters"; moto does not check parts): even when the browser could reach S3, no part URL is
    # signed, and the parts go through the console, where botocore adds the checksum.
    size = 9 * 1024 * 1024
    plan = begin("big.bin", size, "direct")
    assert plan["multipart"] and plan["through_console"]
    urls = admin_client.post(
        reverse("upload_part_urls", args=[endpoint.pk, bucket]), json.dumps({"token": plan["token"], "parts": [1]}),
        content_type="application/json",
    )  # fmt: skip
    assert urls.status_code == 400 and "object lock" in urls.json()["error"]
    sent = _sent_headers(endpoint, "UploadPart")
    parts = []
    for number in range(1, plan["part_count"] + 1):
        length = min(plan["part_size"], size - (number - 1) * plan["part_size"])
        answer = admin_client.post(
            reverse("upload_part", args=[endpoint.pk, bucket]) + f"?part={number}", b"p" * length,
            content_type="application/octet-stream", HTTP_X_UPLOAD_TOKEN=plan["token"],
        )  # fmt: skip
        assert answer.status_code == 200, answer.content
        parts.append({"part": number, "etag": answer.json()["etag"]})
    done = admin_client.post(
        reverse("upload_complete", args=[endpoint.pk, bucket]),
        json.dumps({"token": plan["token"], "parts": parts, "method": "fallback"}),
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    assert raw.head_object(Bucket=bucket, Key="big.bin")["ContentLength"] == size
    assert len(sent) == 2 and all(_has_integrity_header(headers) for headers in sent)
    starts = AuditEvent.objects.filter(action="object.upload.start").order_by("pk")
    assert [e.params["method"] for e in starts] == ["fallback", "fallback"]  # what really happened


def test_the_upload_panel_says_uploads_go_through_the_console(locked, admin_client):
    endpoint, bucket, raw = locked
    panel = admin_client.get(reverse("upload_panel", args=[endpoint.pk, bucket])).content.decode()
    assert 'data-method="fallback"' in panel and "object lock" in panel and "Allow uploads from" not in panel


def test_deleting_a_locked_version_says_why_and_governance_can_be_bypassed(locked, admin_client, operator_user):
    endpoint, bucket, raw = locked
    operator_client = Client()  # admin_client is the `client` fixture: a second login would replace the admin
    operator_client.force_login(operator_user)
    version = raw.head_object(Bucket=bucket, Key="doc.txt")["VersionId"]
    delete = reverse("object_version_delete", args=[endpoint.pk, bucket])
    until = raw.head_object(Bucket=bucket, Key="doc.txt")["ObjectLockRetainUntilDate"]
    when = f"{until.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    page = admin_client.get(delete, {"key": "doc.txt", "version_id": version}).content.decode()
    assert f"Object lock (governance mode) protects this version until {when}" in page
    assert "Bypass governance retention" in page and "You are one" in page
    # An operator is told why, and offered no bypass.
    operator_page = operator_client.get(delete, {"key": "doc.txt", "version_id": version}).content.decode()
    assert f"governance mode) protects this version until {when}. An admin of the bucket can" in operator_page
    assert "Bypass governance retention" not in operator_page and "disabled>Delete permanently" in operator_page

    refused = admin_client.post(delete, {"key": "doc.txt", "version_id": version}, follow=True)
    text = refused.content.decode()
    assert "protects this version until" in text and "AccessDenied" not in text
    assert raw.head_object(Bucket=bucket, Key="doc.txt", VersionId=version)["VersionId"] == version
    assert AuditEvent.objects.get(action="object.version.delete").error_code == "ObjectLocked"

    bypass = {"key": "doc.txt", "version_id": version, "bypass_governance": "1"}
    bypassed = admin_client.post(delete, bypass, follow=True)
    assert "deleted permanently" in bypassed.content.decode()
    versions = raw.list_object_versions(Bucket=bucket, Prefix="doc.txt").get("Versions", [])
    assert version not in [v["VersionId"] for v in versions]
    assert AuditEvent.objects.filter(action="object.version.delete", outcome="ok").get().params["bypass_governance"]


def test_bypass_needs_the_admin_role(locked, operator_client):
    endpoint, bucket, raw = locked
    version = raw.head_object(Bucket=bucket, Key="doc.txt")["VersionId"]
    answer = operator_client.post(
        reverse("object_version_delete", args=[endpoint.pk, bucket]),
        {"key": "doc.txt", "version_id": version, "bypass_governance": "1"},
    )
    assert answer.status_code == 403
    assert raw.head_object(Bucket=bucket, Key="doc.txt", VersionId=version)


def test_every_other_write_works(locked, admin_client):
    """Folders, tags, ACLs, move, rename, a folder copy job and a bulk job: each a write into the locked bucket."""
    endpoint, bucket, raw = locked
    raw.put_bucket_ownership_controls(  # ACLs editable (SeaweedFS starts buckets as "bucket owner enforced")
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    folder = admin_client.post(url("folder_create", endpoint, bucket), {"prefix": "", "name": "reports"})
    assert folder.status_code == 302
    assert raw.head_object(Bucket=bucket, Key="reports/")["ContentLength"] == 0

    seen = _seen(admin_client, "tags", endpoint, bucket)
    tagged = admin_client.post(
        section_url("save", "tags", endpoint, bucket),
        {"key": "doc.txt", "seen": seen, "tag_key": ["team"], "tag_value": ["ops"]},
        **HTMX,
    )
    assert tagged.status_code == 200, tagged.content.decode()[-600:]
    assert raw.get_object_tagging(Bucket=bucket, Key="doc.txt")["TagSet"] == [{"Key": "team", "Value": "ops"}]

    seen = _seen(admin_client, "acl", endpoint, bucket)
    acl = admin_client.post(
        section_url("save", "acl", endpoint, bucket), {"key": "doc.txt", "seen": seen, "canned": "private"}, **HTMX
    )
    assert acl.status_code == 200 and "has-error" not in acl.content.decode(), acl.content.decode()[-600:]

    moved = admin_client.post(
        url("object_move", endpoint, bucket, key="doc.txt"), {"dest_bucket": bucket, "dest_key": "moved/doc.txt"}
    )
    assert moved.status_code == 302, moved.content.decode()[-600:]
    renamed = admin_client.post(url("object_rename", endpoint, bucket, key="moved/doc.txt"), {"new_key": "moved/b.txt"})
    assert renamed.status_code == 302, renamed.content.decode()[-600:]
    assert raw.get_object(Bucket=bucket, Key="moved/b.txt")["Body"].read() == b"first"
    assert "Contents" not in raw.list_objects_v2(Bucket=bucket, Prefix="doc.txt")  # a delete marker in front

    copy_job = admin_client.post(
        url("prefix_copy", endpoint, bucket, prefix="moved/"), {"dest_bucket": bucket, "dest_prefix": "again/"}
    )
    assert copy_job.status_code == 302
    assert Job.objects.get(kind="prefix.copy").status == Job.Status.DONE, Job.objects.get(kind="prefix.copy").errors
    assert raw.get_object(Bucket=bucket, Key="again/b.txt")["Body"].read() == b"first"

    bulk = admin_client.post(
        url("bulk_start", endpoint, bucket),
        {"source": "prefix", "prefix": "again/", "rate": "0", "action": "storage_class", "storage_class": "ONEZONE_IA"},
    )
    assert bulk.status_code == 302, bulk.content.decode()[-600:]
    job = Job.objects.get(kind="bulk.storage_class")
    assert (job.status, job.done, job.failed) == (Job.Status.DONE, 1, 0), job.errors
    assert raw.head_object(Bucket=bucket, Key="again/b.txt")["StorageClass"] == "ONEZONE_IA"
    assert not AuditEvent.objects.exclude(outcome="ok").exists(), list(
        AuditEvent.objects.exclude(outcome="ok").values_list("action", "error_code")
    )


def test_a_refusal_the_lock_explains_though_the_console_could_not_read_it(locked, admin_client, monkeypatch):
    """Credentials without s3:GetObjectRetention see no retention in HeadObject, and S3 refuses the delete all
    the same (AWS: AccessDenied). The page says object lock may be why, not only "not allowed"."""
    endpoint, bucket, raw = locked
    version = raw.head_object(Bucket=bucket, Key="doc.txt")["VersionId"]
    real_head = s3.head_object

    def head_as_seen_without_retention_rights(**kwargs):
        head = real_head(**kwargs)
        return head and {**head, "lock_mode": "", "lock_until": None, "legal_hold": ""}

    monkeypatch.setattr(s3, "head_object", head_as_seen_without_retention_rights)
    delete = reverse("object_version_delete", args=[endpoint.pk, bucket])
    text = admin_client.post(delete, {"key": "doc.txt", "version_id": version}, follow=True).content.decode()
    assert "S3 refused to delete this version (AccessDenied). The bucket has object lock" in text
    assert "credentials are not allowed to do this" not in text
    assert raw.head_object(Bucket=bucket, Key="doc.txt", VersionId=version)["VersionId"] == version
    event = AuditEvent.objects.get(action="object.version.delete")
    assert (event.outcome, event.error_code) == ("failed", "ObjectLocked") and event.request_id
