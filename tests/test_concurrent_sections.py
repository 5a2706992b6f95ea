"""Saves that touch one resource through different doors, at the same moment: nothing is lost.

``test_concurrent_saves`` races two saves of the same section. Here the two saves differ but write the
same S3 resource: the metadata and storage-class forms both copy the object onto itself (each with the
whole head it read), a copy puts back the ACL it read, a bulk job rewrites an object's tags. Each pair
must serialise on one lease per object, so both changes hold, or the second is told what changed.
The window between a save's read and its write is widened (a pause after the read), so the race is
met on every run, not now and then. Also: the settings SeaweedFS cannot show (object lock here; public
access block and website hosting on moto), and an ACL save checks object ownership afresh.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connections
from django.urls import reverse

from buckets import s3
from buckets.services import bulk_actions, copying, reads
from console import audit
from tests.bucket_helpers import login, record
from tests.objects_fixtures import allow_acls, section_url
from tests.test_concurrent_saves import HTMX, _audit_pair, _canned, _clients, _outcome, _race, _seen

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.bucket_settings_fixtures"]
PAUSE = 0.6  # between a save's read and its write: long enough for the other save to land in between


@pytest.fixture
def slow_acl_read(monkeypatch):
    """A copy onto itself pauses after reading the ACL it puts back (the metadata and storage-class saves)."""
    original = copying._readable_acl

    def paused(*args, **kwargs):
        acl = original(*args, **kwargs)
        time.sleep(PAUSE)
        return acl

    monkeypatch.setattr(copying, "_readable_acl", paused)


def _object(s3client, make_bucket) -> str:
    bucket = make_bucket("doors")
    allow_acls(s3client, bucket)
    s3client.put_object(Bucket=bucket, Key="k", Body=b"same bytes", ContentType="text/plain", Metadata={"n": "0"})
    return bucket


def _form_seen(client, slug: str, endpoint, bucket: str) -> str:
    return _seen(client.get(section_url("edit", slug, endpoint, bucket, key="k"), **HTMX).content.decode())


def test_metadata_and_storage_class_saved_at_once_both_hold(admin_user, endpoint, s3client, make_bucket, slow_acl_read):
    bucket = _object(s3client, make_bucket)
    clients = _clients(admin_user)
    bodies = [
        {"key": "k", "seen": _form_seen(clients[0], "metadata", endpoint, bucket), "content_type": "text/plain",
         "meta_key": ["team"], "meta_value": ["alice"]},
        {"key": "k", "seen": _form_seen(clients[1], "storage", endpoint, bucket), "storage_class": "STANDARD_IA"},
    ]  # fmt: skip
    targets = [section_url("save", slug, endpoint, bucket) for slug in ("metadata", "storage")]

    answers = _race(clients, targets, bodies)

    assert [a.status_code for a in answers] == [200, 200]  # different parts of the object: both are saved
    head = s3client.head_object(Bucket=bucket, Key="k")
    assert head["Metadata"] == {"team": "alice"} and head.get("StorageClass") == "STANDARD_IA", head


def test_a_metadata_save_keeps_an_acl_saved_meanwhile(admin_user, endpoint, s3client, make_bucket, slow_acl_read):
    bucket = _object(s3client, make_bucket)
    s3client.put_object_acl(Bucket=bucket, Key="k", ACL="authenticated-read")  # not the default: a copy puts it back
    clients = _clients(admin_user)
    metadata = {"key": "k", "seen": _form_seen(clients[0], "metadata", endpoint, bucket),
                "content_type": "text/plain", "meta_key": ["team"], "meta_value": ["alice"]}  # fmt: skip
    acl = {"key": "k", "seen": _form_seen(clients[1], "acl", endpoint, bucket), "canned": "public-read"}
    targets = [section_url("save", slug, endpoint, bucket) for slug in ("metadata", "acl")]

    # The metadata save starts first and reads the ACL; the ACL save comes while it pauses.
    answers = _race(clients, targets, [metadata, acl], stagger=0.15)

    assert [a.status_code for a in answers] == [200, 200]
    assert s3client.head_object(Bucket=bucket, Key="k")["Metadata"] == {"team": "alice"}
    assert _canned(s3client.get_object_acl(Bucket=bucket, Key="k")["Grants"]) == "public-read"


def test_a_bulk_job_and_a_tags_form_on_one_object(admin_user, endpoint, s3client, make_bucket, monkeypatch):
    """The job reads the tags, adds its own, writes them back; a form save meanwhile must not be lost."""
    bucket = _object(s3client, make_bucket)
    client = login(admin_user)
    seen = _form_seen(client, "tags", endpoint, bucket)
    original = s3.get_object_tags
    read = threading.Event()

    def paused(**kwargs):
        tags = original(**kwargs)
        if threading.current_thread().name == "bulk":
            read.set()
            time.sleep(PAUSE)
        return tags

    monkeypatch.setattr(s3, "get_object_tags", paused)
    failures: list[BaseException] = []

    def job() -> None:
        try:
            with audit.job_writes("bulk.tag"):
                bulk_actions.apply_one(endpoint, bucket, "tag", {"tags": {"env": "prod"}}, {"key": "k"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=job, name="bulk")
    worker.start()
    assert read.wait(10)  # the job has read the tags and pauses
    body = {"key": "k", "seen": seen, "tag_key": ["owner"], "tag_value": ["alice"]}
    answer = client.post(section_url("save", "tags", endpoint, bucket), body, **HTMX)
    worker.join(30)

    assert not failures, failures
    held = {t["Key"]: t["Value"] for t in s3client.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]}
    # The form waited for the job, then saw the tags it had opened on were changed: told so, nothing written.
    assert answer.status_code == 422 and "What changed" in answer.content.decode(), answer.content.decode()[-800:]
    assert held == {"env": "prod"}


def test_an_acl_save_checks_object_ownership_afresh(admin_user, endpoint, s3client, make_bucket):
    """Another process (or S3 itself) switched ownership to "bucket owner enforced" after the form was opened:
    this process's remembered ownership must not let the save through (SeaweedFS would make the bucket public)."""
    bucket = make_bucket("fresh")
    allow_acls(s3client, bucket)
    record(endpoint, bucket)
    client = login(admin_user)
    seen = _seen(client.get(reverse("bucket_setting_edit", args=[endpoint.pk, bucket, "acl"]), **HTMX).text)
    assert reads.ownership_enforced(endpoint=endpoint, bucket=bucket) is False  # remembered for a minute
    s3client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    save = reverse("bucket_setting_save", args=[endpoint.pk, bucket, "acl"])
    refused = client.post(save, {"seen": seen, "canned": "public-read"}, **HTMX)
    assert refused.status_code == 422 and "ACLs are disabled" in refused.text
    assert _canned(s3client.get_bucket_acl(Bucket=bucket)["Grants"]) != "public-read"


def test_two_saves_of_the_object_lock_defaults(admin_user, endpoint, s3client):
    bucket = f"race-lock-{uuid.uuid4().hex[:12]}"
    s3client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    try:
        record(endpoint, bucket)
        clients = _clients(admin_user)
        seen = _seen(clients[0].get(reverse("bucket_setting_edit", args=[endpoint.pk, bucket, "object-lock"]),
                                    **HTMX).text)  # fmt: skip
        bodies = [{"seen": seen, "mode": "GOVERNANCE", "days": days} for days in ("1", "2")]
        answers = _race(clients, reverse("bucket_setting_save", args=[endpoint.pk, bucket, "object-lock"]), bodies)
        win, _ = _outcome(answers, "saved.")
        rule = s3client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
        assert rule["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": (1, 2)[win]}
        _audit_pair("bucket.object_lock.put")
    finally:
        s3client.delete_bucket(Bucket=bucket)


# --- what SeaweedFS does not implement, on moto (in-process: the threads share its state) -------------------
MOTO_CASES = {
    "public-access-block": (
        ({"BlockPublicAcls": "on"}, {"BlockPublicPolicy": "on"}),
        lambda c: [
            k for k, v in c.get_public_access_block(Bucket="moto-bucket")["PublicAccessBlockConfiguration"].items() if v
        ],  # fmt: skip
        (["BlockPublicAcls"], ["BlockPublicPolicy"]),
    ),
    "website": (
        ({"index_document": "a.html"}, {"index_document": "b.html"}),
        lambda c: c.get_bucket_website(Bucket="moto-bucket")["IndexDocument"]["Suffix"],
        ("a.html", "b.html"),
    ),
}


@pytest.mark.parametrize("slug", list(MOTO_CASES))
def test_two_saves_of_a_setting_seaweedfs_lacks(slug, admin_user, moto_endpoint):
    forms, held, expected = MOTO_CASES[slug]
    ep, raw = moto_endpoint, s3.client_for(moto_endpoint)
    clients = _clients(admin_user)
    seen = _seen(clients[0].get(reverse("bucket_setting_edit", args=[ep.pk, "moto-bucket", slug]), **HTMX).text)
    bodies = [{"seen": seen, **form} for form in forms]
    answers = _race(clients, reverse("bucket_setting_save", args=[ep.pk, "moto-bucket", slug]), bodies)
    win, _ = _outcome(answers, "saved.")
    assert held(raw) == expected[win]
    _audit_pair(f"bucket.{slug.replace('-', '_')}.put")
