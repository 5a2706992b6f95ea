"""Delete of one object, a selection and a folder: dry run, typed confirmation, jobs, audit."""

from __future__ import annotations

import pytest

from buckets.models import Job
from buckets.services import transfer
from console.models import AuditEvent, Endpoint
from tests.transfer_fixtures import (
    AWKWARD,
    calls_fixture,  # noqa: F401 - a fixture
    events,
    list_keys,
    put_many,
    url,
)

pytestmark = pytest.mark.django_db


def test_prefix_delete_deletes_exactly_the_folder(admin_client, endpoint, s3client, make_bucket, calls):
    bucket = make_bucket("pd")
    doomed = ["photos/a.jpg", "photos/2024/b.jpg", "photos/"]
    # (No plain "photos" key: SeaweedFS cannot hold a file and a folder of the same name.)
    kept = ["photos2/c.jpg", "photos.txt", "photos-old/e.jpg", "other/photos/d.jpg"]
    put_many(s3client, bucket, [k for k in doomed + kept if k != "photos/"], body=b"1234567890")
    s3client.put_object(Bucket=bucket, Key="photos/", Body=b"")

    page = admin_client.get(url("prefix_delete", endpoint, bucket, prefix="photos/"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delete folder “photos/”?" in html
    assert '<div class="value">3</div>' in html and "20\xa0bytes" in html
    assert 'data-confirm-value="photos/"' in html and "data-confirm-submit disabled" in html
    assert "not versioned" in html

    calls.clear()
    response = admin_client.post(url("prefix_delete", endpoint, bucket, prefix="photos/"), {"confirm": "photos/"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == Job.Status.DONE and (job.total, job.done, job.failed, job.done_bytes) == (3, 3, 0, 20)
    assert sorted(list_keys(s3client, bucket)) == sorted(kept)
    assert calls["DeleteObjects"] == 1

    (start,) = events("prefix.delete.start")
    assert start.key == "photos/" and start.params["job_id"] == str(job.pk) and start.outcome == "ok"
    (done,) = events("prefix.delete")
    assert done.outcome == "ok" and done.after == {"op": "delete", "done": 3, "failed": 0, "bytes": 20}
    assert done.actor_name == "alice"


def test_prefix_delete_needs_the_typed_folder_name(admin_client, endpoint, s3client, make_bucket, calls):
    bucket = make_bucket("tc")
    put_many(s3client, bucket, ["photos/a.jpg", "photos2/b.jpg"])
    calls.clear()
    for typed in ["photos", "photos2/", " photos/", "PHOTOS/", ""]:
        response = admin_client.post(url("prefix_delete", endpoint, bucket, prefix="photos/"), {"confirm": typed})
        assert response.status_code == 422
    assert "nothing was deleted" in response.content.decode() or "This field is required" in response.content.decode()
    assert calls["DeleteObjects"] == 0
    assert not Job.objects.exists() and not AuditEvent.objects.filter(action__startswith="prefix.delete").exists()
    assert list_keys(s3client, bucket) == ["photos/a.jpg", "photos2/b.jpg"]
    # A prefix without the closing "/" is not a folder: refused before anything is counted.
    assert admin_client.get(url("prefix_delete", endpoint, bucket, prefix="photos")).status_code == 404
    assert admin_client.post(url("prefix_delete", endpoint, bucket, prefix=""), {"confirm": ""}).status_code == 404


def test_versioned_bucket_delete_adds_delete_markers(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("ver", versioned=True)
    put_many(s3client, bucket, ["logs/1.txt", "logs/2.txt", "keep.txt"])

    html = admin_client.get(url("prefix_delete", endpoint, bucket, prefix="logs/")).content.decode()
    assert "Versioning is enabled on this bucket" in html and "adds a delete marker" in html
    single = admin_client.get(url("object_delete", endpoint, bucket, key="keep.txt")).content.decode()
    assert "Versioning is enabled" in single

    assert (
        admin_client.post(url("prefix_delete", endpoint, bucket, prefix="logs/"), {"confirm": "logs/"}).status_code
        == 302
    )
    assert Job.objects.get().status == Job.Status.DONE
    assert list_keys(s3client, bucket) == ["keep.txt"]
    versions = s3client.list_object_versions(Bucket=bucket, Prefix="logs/")
    assert sorted(v["Key"] for v in versions.get("Versions", [])) == ["logs/1.txt", "logs/2.txt"]
    assert sorted(m["Key"] for m in versions.get("DeleteMarkers", [])) == ["logs/1.txt", "logs/2.txt"]


def test_delete_one_object_with_dry_run(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("one")
    key = "docs/<b>report & co 100%.txt"
    s3client.put_object(Bucket=bucket, Key=key, Body=b"x" * 2048)
    s3client.put_object(Bucket=bucket, Key="docs/<b>report & co 100%.txt.bak", Body=b"y")

    page = admin_client.get(url("object_delete", endpoint, bucket, key=key))
    html = page.content.decode()
    assert page.status_code == 200 and "2.0\xa0KiB" in html and "<b>report" not in html
    response = admin_client.post(url("object_delete", endpoint, bucket, key=key))
    assert response.status_code == 302
    assert response["Location"] == url("object_list", endpoint, bucket, prefix="docs/")
    assert list_keys(s3client, bucket) == ["docs/<b>report & co 100%.txt.bak"]
    (event,) = events("object.delete")
    assert event.outcome == "ok" and event.key == key and event.params == {"count": 1, "keys": [key]}


def test_delete_selection_inline_and_as_job(admin_client, endpoint, s3client, make_bucket, calls):
    bucket = make_bucket("sd")
    put_many(s3client, bucket, AWKWARD, body=b"abc")
    bulk = [f"bulk/{i:03d}" for i in range(150)]
    put_many(s3client, bucket, bulk + ["bulk/keep"], body=b"")

    review = admin_client.post(url("selection_delete_review", endpoint, bucket), {"key": AWKWARD, "prefix": "awk/"})
    html = review.content.decode()
    assert review.status_code == 200 and f"Delete {len(AWKWARD)} objects?" in html
    assert '<div class="value">10</div>' in html and "27\xa0bytes" in html  # 9 × 3 bytes and an empty marker
    response = admin_client.post(url("selection_delete", endpoint, bucket), {"key": AWKWARD, "prefix": "awk/"})
    assert response.status_code == 302 and response["Location"] == url("object_list", endpoint, bucket, prefix="awk/")
    assert list_keys(s3client, bucket, "awk/") == []
    (event,) = events("object.delete")
    assert event.params["count"] == len(AWKWARD) and sorted(event.params["keys"]) == sorted(AWKWARD)

    calls.clear()
    response = admin_client.post(url("selection_delete", endpoint, bucket), {"key": bulk, "prefix": "bulk/"})
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == Job.Status.DONE and (job.total, job.done) == (150, 150)
    assert list_keys(s3client, bucket) == ["bulk/keep"]
    assert calls["DeleteObjects"] == 1
    start = events("object.delete.start")[0]
    assert start.params["count"] == 150 and len(start.params["keys"]) == transfer.AUDIT_KEYS_KEPT
    done = events("object.delete")[-1]
    assert done.outcome == "ok" and done.after["done"] == 150 and len(done.params["keys"]) == transfer.AUDIT_KEYS_KEPT


def test_refused_keys_are_listed_by_key_in_the_job(admin_client, readonly_endpoint, s3client, make_bucket):
    """Credentials that may read but not delete: S3 refuses each key; the job lists them and nothing goes."""
    bucket = make_bucket("ro")
    keys = ["ro/a.txt", "ro/b c.txt", "ro/ü.txt"]
    put_many(s3client, bucket, keys)
    response = admin_client.post(url("prefix_delete", readonly_endpoint, bucket, prefix="ro/"), {"confirm": "ro/"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED and (job.done, job.failed) == (0, 3)
    assert sorted(e["key"] for e in job.errors) == sorted(keys) and {e["code"] for e in job.errors} == {"AccessDenied"}
    assert list_keys(s3client, bucket) == keys
    (done,) = events("prefix.delete")
    assert done.outcome == "failed" and done.after["failed"] == 3
    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "ro/b c.txt" in page and "AccessDenied" in page

    # One object, inline: the refusal is shown, the audit row says failed.
    response = admin_client.post(url("object_delete", readonly_endpoint, bucket, key="ro/a.txt"), follow=True)
    assert "Nothing was deleted" in response.content.decode()
    assert events("object.delete")[-1].outcome == "failed"


def test_delete_roles(client, endpoint, s3client, make_bucket, viewer_user, operator_user, nobody_user):
    bucket = make_bucket("roles")
    s3client.put_object(Bucket=bucket, Key="f/k.txt", Body=b"x")

    client.force_login(viewer_user)
    assert client.get(url("object_delete", endpoint, bucket, key="f/k.txt")).status_code == 403
    assert client.post(url("object_delete", endpoint, bucket, key="f/k.txt")).status_code == 403
    assert client.post(url("prefix_delete", endpoint, bucket, prefix="f/"), {"confirm": "f/"}).status_code == 403
    assert client.post(url("selection_delete", endpoint, bucket), {"key": ["f/k.txt"]}).status_code == 403
    assert client.post(url("selection_delete_review", endpoint, bucket), {"key": ["f/k.txt"]}).status_code == 403
    denied = AuditEvent.objects.filter(outcome="denied")
    assert {e.action for e in denied} == {"object.delete", "prefix.delete"} and denied.count() == 5
    assert denied.filter(action="prefix.delete", key="f/").exists()

    client.force_login(nobody_user)
    assert client.get(url("prefix_delete", endpoint, bucket, prefix="f/")).status_code == 404
    assert client.post(url("object_delete", endpoint, bucket, key="f/k.txt")).status_code == 404
    assert list_keys(s3client, bucket) == ["f/k.txt"]

    client.force_login(operator_user)
    assert client.post(url("object_delete", endpoint, bucket, key="f/k.txt")).status_code == 302
    assert list_keys(s3client, bucket) == []


def test_prefix_scoped_operator_cannot_delete_a_wider_folder(
    client, endpoint, s3client, make_bucket, django_user_model
):
    from console.models import Role, RoleAssignment

    bucket = make_bucket("scope")
    put_many(s3client, bucket, ["team/a/1.txt", "team/b/2.txt"])
    user = django_user_model.objects.create_user("pat", password="pw-pat-123456")
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint, bucket=bucket, prefix="team/a/")
    client.force_login(user)
    assert client.post(url("prefix_delete", endpoint, bucket, prefix="team/"), {"confirm": "team/"}).status_code == 403
    # A selection reaching outside the scope is refused as a whole.
    mixed = {"key": ["team/a/1.txt", "team/b/2.txt"], "prefix": "team/"}
    assert client.post(url("selection_delete", endpoint, bucket), mixed).status_code == 403
    assert list_keys(s3client, bucket) == ["team/a/1.txt", "team/b/2.txt"]
    ok = client.post(url("prefix_delete", endpoint, bucket, prefix="team/a/"), {"confirm": "team/a/"})
    assert ok.status_code == 302 and list_keys(s3client, bucket) == ["team/b/2.txt"]
    assert Endpoint.objects.count() == 1


def test_one_key_is_deleted_with_delete_object_and_a_missing_one_is_said_so(
    admin_client, endpoint, s3client, make_bucket, calls
):
    bucket = make_bucket("single", versioned=True)
    s3client.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"1")
    calls.clear()
    page = admin_client.post(url("object_delete", endpoint, bucket, key="docs/a.txt"), follow=True).content.decode()
    assert "Deleted “docs/a.txt”." in page
    assert (calls["DeleteObject"], calls["DeleteObjects"]) == (1, 0)

    again = admin_client.post(url("object_delete", endpoint, bucket, key="docs/a.txt"), follow=True).content.decode()
    assert "was not there (any more): there was nothing to delete." in again and "Deleted" not in again
    versions = s3client.list_object_versions(Bucket=bucket, Prefix="docs/")
    assert len(versions.get("Versions", [])) == 1 and len(versions.get("DeleteMarkers", [])) == 1  # no second marker
    first, second = events("object.delete")
    assert first.outcome == "ok" and first.after["deleted"] == 1 and first.after["delete_marker"] is True
    assert second.outcome == "ok" and second.after == {"deleted": 0, "not_found": ["docs/a.txt"]}


def test_a_folder_marker_is_deleted_and_checked_gone(admin_client, endpoint, s3client, make_bucket):
    """SeaweedFS reports folder markers ("…/") deleted by DeleteObjects while they stay, and answers HEAD
    of them while the folder has a directory entry: they go by DeleteObject and are checked in a listing."""
    bucket = make_bucket("marker")
    s3client.put_object(Bucket=bucket, Key="m/", Body=b"")
    s3client.put_object(Bucket=bucket, Key="m/child.txt", Body=b"1")
    s3client.put_object(Bucket=bucket, Key="n/", Body=b"")
    page = admin_client.post(url("object_delete", endpoint, bucket, key="m/"), follow=True).content.decode()
    assert "Deleted “m/”." in page
    assert list_keys(s3client, bucket) == ["m/child.txt", "n/"]
    selection = {"key": ["n/", "m/child.txt", "gone.txt"], "prefix": ""}
    page = admin_client.post(url("selection_delete", endpoint, bucket), selection, follow=True).content.decode()
    assert "Deleted 2 object(s)." in page and "1 selected key(s) were not there, nothing to delete" in page
    assert list_keys(s3client, bucket) == []
    assert events("object.delete")[-1].after["not_found"] == ["gone.txt"]


def test_a_big_selection_delete_reports_keys_that_were_not_there(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bigsel")
    present = [f"s/{i:03d}" for i in range(60)]
    put_many(s3client, bucket, present, body=b"12")
    keys = present + ["s/missing-1", "s/missing-2"]
    admin_client.post(url("selection_delete", endpoint, bucket), {"key": keys, "prefix": "s/"})
    job = Job.objects.get()
    assert job.status == Job.Status.DONE and (job.done, job.failed, job.done_bytes) == (60, 0, 120)
    assert job.message == "Deleted 60 object(s). 2 selected key(s) were not there: nothing to delete."
    assert events("object.delete")[-1].after == {"op": "delete", "done": 60, "failed": 0, "bytes": 120, "not_found": 2}
    assert list_keys(s3client, bucket) == []


def test_review_pages_carry_keys_with_line_breaks_intact(admin_client, endpoint, s3client, make_bucket):
    """Browsers rewrite "\\r" in form values to "\\r\\n": the review page carries keys encoded, not raw."""
    import html
    import re

    bucket = make_bucket("crlf")
    key = "cr/line\rbreak.txt"
    s3client.put_object(Bucket=bucket, Key=key, Body=b"1")
    s3client.put_object(Bucket=bucket, Key="cr/other.txt", Body=b"1")
    review = admin_client.post(url("selection_delete_review", endpoint, bucket), {"key": [key], "prefix": "cr/"})
    page = review.content.decode()
    assert "\r" not in re.sub(r"<li[^>]*>.*?</li>", "", page, flags=re.S)  # no raw key in any value
    tokens = [html.unescape(t) for t in re.findall(r'name="key_b64" value="([^"]*)"', page)]
    assert len(tokens) == 1
    admin_client.post(url("selection_delete", endpoint, bucket), {"key_b64": tokens, "prefix": "cr/"})
    assert list_keys(s3client, bucket) == ["cr/other.txt"]


def test_a_key_with_a_carriage_return_keeps_it_from_the_folder_list_to_the_delete(
    admin_client, endpoint, s3client, make_bucket
):
    """The folder list's checkbox carries the key encoded: ticked and deleted, it is the key itself that goes."""
    import html
    import re

    from buckets.forms.transfer import decode_key

    bucket = make_bucket("crlist")
    key = "cr/line\rbreak.txt"
    s3client.put_object(Bucket=bucket, Key=key, Body=b"1")
    s3client.put_object(Bucket=bucket, Key="cr/line\r\nbreak.txt", Body=b"2")  # what a browser would turn it into
    listing = admin_client.get(url("object_list", endpoint, bucket, prefix="cr/")).content.decode()
    ticked = [html.unescape(v) for v in re.findall(r'name="key_b64" value="([^"]*)"', listing)]
    assert sorted(decode_key(t) for t in ticked) == sorted([key, "cr/line\r\nbreak.txt"])
    mine = next(t for t in ticked if decode_key(t) == key)
    review = admin_client.post(url("selection_delete_review", endpoint, bucket), {"key_b64": [mine], "prefix": "cr/"})
    tokens = [html.unescape(t) for t in re.findall(r'name="key_b64" value="([^"]*)"', review.content.decode())]
    admin_client.post(url("selection_delete", endpoint, bucket), {"key_b64": tokens, "prefix": "cr/"})
    assert list_keys(s3client, bucket) == ["cr/line\r\nbreak.txt"]
