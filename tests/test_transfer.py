"""Copy, move and rename of objects, selections and prefixes against a real SeaweedFS."""

from __future__ import annotations

import math

import pytest

from buckets.models import Job
from buckets.services import copying, prefixes, transfer
from console.models import AuditEvent, Role, RoleAssignment
from tests.transfer_fixtures import AWKWARD, calls_fixture, events, list_keys, put_many, records_fixture, url  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

TAGS = [{"Key": "team", "Value": "data ops"}, {"Key": "tier", "Value": "gold"}]


def _put_rich(client, bucket: str, key: str, body: bytes = b"hello world") -> None:
    client.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        Metadata={"owner": "alice", "source": "camera-7"},
        ContentType="text/x-report",
        CacheControl="max-age=60",
        ContentDisposition='attachment; filename="r.txt"',
        Tagging="team=data%20ops&tier=gold",
    )


def _assert_rich(client, bucket: str, key: str) -> dict:
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {"owner": "alice", "source": "camera-7"}
    assert head["ContentType"] == "text/x-report"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="r.txt"'
    assert sorted(client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"], key=lambda t: t["Key"]) == TAGS
    return head


def test_copy_object_to_other_bucket_keeps_metadata_and_tags(admin_client, endpoint, s3client, make_bucket, records):
    src, dst = make_bucket("src"), make_bucket("dst")
    records(dst)
    _put_rich(s3client, src, "reports/q1.txt")

    page = admin_client.get(url("object_copy", endpoint, src, key="reports/q1.txt"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Copy “reports/q1.txt”" in html and f'value="{dst}"' in html

    response = admin_client.post(
        url("object_copy", endpoint, src, key="reports/q1.txt"), {"dest_bucket": dst, "dest_key": "archive/"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("object_detail", endpoint, dst, key="archive/q1.txt")
    _assert_rich(s3client, dst, "archive/q1.txt")
    assert s3client.get_object(Bucket=dst, Key="archive/q1.txt")["Body"].read() == b"hello world"
    assert list_keys(s3client, src) == ["reports/q1.txt"]  # a copy leaves the source

    (event,) = events("object.copy")
    assert event.outcome == "ok" and event.bucket == src and event.key == "reports/q1.txt"
    assert event.params["source"] == {"bucket": src, "key": "reports/q1.txt"}
    assert event.params["destination"] == {"bucket": dst, "key": "archive/q1.txt"}
    assert event.actor_name == "alice" and event.role == "admin"

    # Copying again does not overwrite silently: the form says so, S3 is untouched.
    s3client.put_object(Bucket=dst, Key="archive/q1.txt", Body=b"newer")
    again = admin_client.post(
        url("object_copy", endpoint, src, key="reports/q1.txt"), {"dest_bucket": dst, "dest_key": "archive/q1.txt"}
    )
    assert again.status_code == 422
    assert "already exists" in again.content.decode()
    assert s3client.get_object(Bucket=dst, Key="archive/q1.txt")["Body"].read() == b"newer"
    forced = admin_client.post(
        url("object_copy", endpoint, src, key="reports/q1.txt"),
        {"dest_bucket": dst, "dest_key": "archive/q1.txt", "overwrite": "on"},
    )
    assert forced.status_code == 302
    assert s3client.get_object(Bucket=dst, Key="archive/q1.txt")["Body"].read() == b"hello world"


def test_multipart_copy_above_threshold_keeps_metadata_and_tags(
    admin_client, endpoint, s3client, make_bucket, monkeypatch, calls
):
    monkeypatch.setattr(copying, "MULTIPART_COPY_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(copying, "MULTIPART_COPY_PART_SIZE", 5 * 1024 * 1024)
    bucket = make_bucket("mp")
    body = bytes(range(256)) * (12 * 1024 * 4)  # 12 MiB, not one repeated byte
    assert len(body) == 12 * 1024 * 1024
    _put_rich(s3client, bucket, "big/blob.bin", body)
    calls.clear()

    response = admin_client.post(
        url("object_move", endpoint, bucket, key="big/blob.bin"), {"dest_bucket": bucket, "dest_key": "moved/blob.bin"}
    )
    assert response.status_code == 302
    assert calls["UploadPartCopy"] == 3 and calls["CopyObject"] == 0 and calls["CompleteMultipartUpload"] == 1
    head = _assert_rich(s3client, bucket, "moved/blob.bin")
    assert head["ContentLength"] == len(body) and head["ETag"].strip('"').endswith("-3")
    assert s3client.get_object(Bucket=bucket, Key="moved/blob.bin")["Body"].read() == body
    assert list_keys(s3client, bucket) == ["moved/blob.bin"]
    (event,) = events("object.move")
    assert event.outcome == "ok" and event.after["method"] == "multipart"
    assert not s3client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_move_prefix_of_1200_keys_runs_as_job(admin_client, endpoint, s3client, make_bucket, records, calls):
    src, dst = make_bucket("src"), make_bucket("dst")
    records(dst)
    keys = [f"photos/{i // 100:02d}/img-{i:04d}.jpg" for i in range(1200)]
    put_many(s3client, src, keys + ["photos2/keep.jpg", "photos.txt"], body=b"12345")
    s3client.put_object_tagging(Bucket=src, Key=keys[7], Tagging={"TagSet": TAGS})
    calls.clear()

    page = admin_client.get(url("prefix_move", endpoint, src, prefix="photos/"))
    assert page.status_code == 200 and "1,200" in page.content.decode()
    response = admin_client.post(
        url("prefix_move", endpoint, src, prefix="photos/"), {"dest_bucket": dst, "dest_prefix": "archive/photos"}
    )
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == Job.Status.DONE, (job.message, job.errors[:3])
    assert (job.total, job.done, job.failed, job.done_bytes) == (1200, 1200, 0, 6000)

    moved = list_keys(s3client, dst)
    assert moved == sorted("archive/" + k for k in keys)
    assert list_keys(s3client, src) == ["photos.txt", "photos2/keep.jpg"]  # photos2/ is not photos/
    assert sorted(s3client.get_object_tagging(Bucket=dst, Key="archive/" + keys[7])["TagSet"], key=str) == sorted(
        TAGS, key=str
    )
    assert calls["DeleteObjects"] <= math.ceil(1200 / 1000) + 1
    assert calls["HeadObject"] == 0  # sizes come from the listing

    (start,) = events("prefix.move.start")
    assert start.params["job_id"] == str(job.pk) and start.params["dest_prefix"] == "archive/photos/"
    (done,) = events("prefix.move")
    assert done.outcome == "ok" and done.key == "photos/"
    assert done.after == {"op": "move", "done": 1200, "failed": 0, "bytes": 6000}
    job_page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "1,200 of 1,200 done" in job_page


def test_copy_prefix_reports_conflicts_per_key_and_refuses_into_itself(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("conf")
    put_many(s3client, bucket, ["a/1.txt", "a/2.txt", "a/3.txt"], body=b"new")
    s3client.put_object(Bucket=bucket, Key="b/2.txt", Body=b"old")

    inside = admin_client.post(
        url("prefix_copy", endpoint, bucket, prefix="a/"), {"dest_bucket": bucket, "dest_prefix": "a/x/"}
    )
    assert inside.status_code == 422 and "cannot be copied into itself" in inside.content.decode()
    assert not Job.objects.exists()

    response = admin_client.post(
        url("prefix_copy", endpoint, bucket, prefix="a/"), {"dest_bucket": bucket, "dest_prefix": "b/"}
    )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED and (job.done, job.failed) == (2, 1)
    assert job.errors == [
        {"key": "a/2.txt", "code": "DestinationExists", "message": "“b/2.txt” already exists; not overwritten."}
    ]
    assert s3client.get_object(Bucket=bucket, Key="b/2.txt")["Body"].read() == b"old"
    assert list_keys(s3client, bucket, "b/") == ["b/1.txt", "b/2.txt", "b/3.txt"]
    (event,) = events("prefix.copy")
    assert event.outcome == "failed" and event.after["failed"] == 1 and event.error_code == "SomeKeysFailed"
    assert "already exists" in admin_client.get(f"/jobs/{job.pk}/").content.decode()


def test_rename_object_and_prefix(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("ren")
    _put_rich(s3client, bucket, "docs/draft.txt")
    put_many(s3client, bucket, ["old/a.txt", "old/deep/b.txt", "older/c.txt"])

    form = admin_client.get(url("object_rename", endpoint, bucket, key="docs/draft.txt"))
    assert form.status_code == 200 and 'value="docs/draft.txt"' in form.content.decode()
    response = admin_client.post(
        url("object_rename", endpoint, bucket, key="docs/draft.txt"), {"new_key": "docs/final.txt"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("object_detail", endpoint, bucket, key="docs/final.txt")
    _assert_rich(s3client, bucket, "docs/final.txt")
    assert "docs/draft.txt" not in list_keys(s3client, bucket)
    (event,) = events("object.move")
    assert event.params["rename"] is True and event.params["destination"]["key"] == "docs/final.txt"

    same = admin_client.post(
        url("object_rename", endpoint, bucket, key="docs/final.txt"), {"new_key": "docs/final.txt"}
    )
    assert same.status_code == 422 and "is the object itself" in same.content.decode()
    folder = admin_client.post(url("object_rename", endpoint, bucket, key="docs/final.txt"), {"new_key": "docs/x/"})
    assert folder.status_code == 422 and "names a folder" in folder.content.decode()
    assert "docs/final.txt" in list_keys(s3client, bucket)

    response = admin_client.post(url("prefix_rename", endpoint, bucket, prefix="old/"), {"new_prefix": "new"})
    assert response.status_code == 302
    assert Job.objects.get().status == Job.Status.DONE
    assert list_keys(s3client, bucket) == ["docs/final.txt", "new/a.txt", "new/deep/b.txt", "older/c.txt"]
    assert events("prefix.move")[0].after["done"] == 2


def test_awkward_keys_copy_and_move_as_selection_and_prefix(admin_client, endpoint, s3client, make_bucket, records):
    src, dst = make_bucket("awk"), make_bucket("awkdst")
    records(dst)
    put_many(s3client, src, AWKWARD, body=b"")

    # The object list's checkboxes post the keys; the review page carries them on, escaped.
    review = admin_client.post(url("selection_copy", endpoint, src), {"key": AWKWARD, "prefix": "awk/"})
    assert review.status_code == 200
    html = review.content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;.html" in html
    response = admin_client.post(
        url("selection_copy_run", endpoint, src),
        {"key": AWKWARD, "prefix": "awk/", "dest_bucket": dst, "dest_prefix": "in/"},
    )
    assert response.status_code == 302
    assert response["Location"] == url("object_list", endpoint, dst, prefix="in/")
    assert sorted(list_keys(s3client, dst)) == sorted("in/" + k[len("awk/") :] for k in AWKWARD)
    # SeaweedFS answers NoSuchKey to copying a "folder/" marker: it was recreated (it is empty).
    assert s3client.head_object(Bucket=dst, Key="in/folder marker/")["ContentLength"] == 0
    assert len(events("object.copy", outcome="ok")) == len(AWKWARD)

    # One awkward key on its own, through its query string.
    key = "awk/100% sure.txt"
    response = admin_client.post(
        url("object_move", endpoint, src, key=key), {"dest_bucket": src, "dest_key": "awk/a?b#c&d.txt"}
    )
    assert response.status_code == 302
    assert "awk/a?b#c&d.txt" in list_keys(s3client, src) and key not in list_keys(s3client, src)

    # The whole prefix, as a job.
    response = admin_client.post(
        url("prefix_move", endpoint, src, prefix="awk/"), {"dest_bucket": dst, "dest_prefix": "all/"}
    )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Job.Status.DONE, job.errors
    assert list_keys(s3client, src) == []
    expected = [k for k in AWKWARD if k != key] + ["awk/a?b#c&d.txt"]
    assert sorted(list_keys(s3client, dst, "all/")) == sorted("all/" + k[len("awk/") :] for k in expected)


def test_selection_bigger_than_inline_limit_moves_as_job(admin_client, endpoint, s3client, make_bucket, calls):
    bucket = make_bucket("sel")
    keys = [f"in/f{i:03d}.txt" for i in range(transfer.INLINE_LIMIT + 10)]
    put_many(s3client, bucket, keys + ["in/not-selected.txt"])
    calls.clear()
    onto_itself = {"key": keys, "prefix": "in/", "dest_bucket": bucket, "dest_prefix": "in"}
    refused = admin_client.post(url("selection_move_run", endpoint, bucket), onto_itself)
    assert refused.status_code == 422 and "That is where the objects are" in refused.content.decode()
    assert not Job.objects.exists() and calls["CopyObject"] == 0
    response = admin_client.post(
        url("selection_move_run", endpoint, bucket),
        {"key": keys, "prefix": "in/", "dest_bucket": bucket, "dest_prefix": "out/"},
    )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Job.Status.DONE and (job.total, job.done) == (len(keys), len(keys))
    assert list_keys(s3client, bucket, "in/") == ["in/not-selected.txt"]
    assert list_keys(s3client, bucket, "out/") == ["out/" + k[3:] for k in keys]
    assert calls["DeleteObjects"] == 1
    assert events("object.move.start")[0].params["count"] == len(keys)
    (done,) = events("object.move")
    assert done.outcome == "ok" and done.params["count"] == len(keys) and len(done.params["keys"]) == len(keys)


def test_roles_for_copy_and_move(
    client, endpoint, s3client, make_bucket, records, viewer_user, nobody_user, django_user_model
):
    src, dst = make_bucket("rs"), make_bucket("rd")
    records(src, dst)
    s3client.put_object(Bucket=src, Key="k.txt", Body=b"x")

    client.force_login(viewer_user)
    assert client.get(url("object_copy", endpoint, src, key="k.txt")).status_code == 200  # may read the source
    denied = client.post(url("object_copy", endpoint, src, key="k.txt"), {"dest_bucket": dst, "dest_key": "k.txt"})
    assert denied.status_code == 403
    assert (
        client.post(
            url("object_move", endpoint, src, key="k.txt"), {"dest_bucket": dst, "dest_key": "k.txt"}
        ).status_code
        == 403
    )
    assert client.post(url("prefix_move", endpoint, src, prefix="a/"), {"dest_bucket": dst}).status_code == 403
    assert {e.action for e in AuditEvent.objects.filter(outcome="denied")} == {
        "object.copy",
        "object.move",
        "prefix.move",
    }
    assert AuditEvent.objects.get(outcome="denied", action="object.copy").bucket == dst
    assert list_keys(s3client, dst) == []

    client.force_login(nobody_user)
    assert client.get(url("object_copy", endpoint, src, key="k.txt")).status_code == 404
    assert client.post(url("prefix_copy", endpoint, src, prefix="a/"), {"dest_bucket": dst}).status_code == 404

    # An operator of the source bucket only: the other bucket is not visible (404); unknown buckets 404 too.
    scoped = django_user_model.objects.create_user("sam", password="pw-sam-123456")
    RoleAssignment.objects.create(user=scoped, role=Role.OPERATOR, endpoint=endpoint, bucket=src)
    client.force_login(scoped)
    assert (
        client.post(url("object_copy", endpoint, src, key="k.txt"), {"dest_bucket": dst, "dest_key": "k"}).status_code
        == 404
    )
    assert (
        client.post(
            url("object_copy", endpoint, src, key="k.txt"), {"dest_bucket": "no-such-bucket", "dest_key": "k"}
        ).status_code
        == 404
    )
    ok = client.post(url("object_copy", endpoint, src, key="k.txt"), {"dest_bucket": src, "dest_key": "copy.txt"})
    assert ok.status_code == 302 and "copy.txt" in list_keys(s3client, src)
    assert list_keys(s3client, dst) == []


def test_existing_keys_cursor_lists_lazily(endpoint, s3client, make_bucket, calls):
    bucket = make_bucket("cur")
    put_many(s3client, bucket, [f"d/{i:04d}" for i in range(0, 2500, 2)] + ["e/x"])
    calls.clear()
    cursor = prefixes.ExistingKeys(endpoint, bucket, "d/")
    assert [k in cursor for k in ["d/0000", "d/0001", "d/0998", "d/1999", "d/2498", "d/2499", "d/9999"]] == [
        True, False, True, False, True, False, False,
    ]  # fmt: skip
    assert calls["ListObjectsV2"] <= 3


def test_keys_the_endpoint_would_rewrite_are_refused_up_front(admin_client, endpoint, s3client, make_bucket, calls):
    """SeaweedFS stores "a//b" as "a/b" and "a\\b" as "a/b": copy, move and rename refuse them, saying why."""
    bucket = make_bucket("rw")
    s3client.put_object(Bucket=bucket, Key="k.txt", Body=b"1")
    put_many(s3client, bucket, ["dir/a.txt"])
    calls.clear()
    copy = admin_client.post(
        url("object_copy", endpoint, bucket, key="k.txt"), {"dest_bucket": bucket, "dest_key": "a//b"}
    )
    assert copy.status_code == 422 and "which this endpoint drops" in copy.content.decode()
    rename = admin_client.post(url("object_rename", endpoint, bucket, key="k.txt"), {"new_key": "a\\b.txt"})
    assert rename.status_code == 422 and "which this endpoint stores as “/”" in rename.content.decode()
    folder = admin_client.post(
        url("prefix_copy", endpoint, bucket, prefix="dir/"), {"dest_bucket": bucket, "dest_prefix": "x//y"}
    )
    assert folder.status_code == 422 and "which this endpoint drops" in folder.content.decode()
    assert calls["CopyObject"] == 0 and list_keys(s3client, bucket) == ["dir/a.txt", "k.txt"]
    assert not Job.objects.exists()


def test_a_copy_is_only_reported_when_the_destination_is_there_as_typed(
    admin_client, endpoint, s3client, make_bucket, monkeypatch
):
    """Had the console not known that this server rewrites keys, the check after the copy would catch it."""
    from buckets.services import reads

    monkeypatch.setattr(reads, "rewrites_keys", lambda **kwargs: False)
    bucket = make_bucket("typed")
    s3client.put_object(Bucket=bucket, Key="k.txt", Body=b"1")
    moved = admin_client.post(
        url("object_move", endpoint, bucket, key="k.txt"), {"dest_bucket": bucket, "dest_key": "a//b.txt"}
    )
    assert moved.status_code == 422
    assert "is not in" in moved.content.decode() and "under another name" in moved.content.decode()
    assert "k.txt" in list_keys(s3client, bucket)  # the source stays: its copy did not land as typed
    (event,) = events("object.move")
    assert (event.outcome, event.error_code) == ("failed", "NotStoredAsTyped")
