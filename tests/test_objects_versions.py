"""Versions of a key (list, page, download, restore, delete, undelete) and incomplete multipart uploads."""

from __future__ import annotations

import html
import re

from buckets import s3
from buckets.services import reads
from console.models import AuditEvent
from tests.objects_fixtures import AWKWARD_KEYS, fetch, link, url


def _version_ids(page: str) -> list[str]:
    """Version ids in the order the page lists them (delete markers included)."""
    rows = re.findall(r'<tr class="[^"]*">\s*<td>(.*?)</td>', page, re.S)
    ids = []
    for row in rows:
        found = re.search(r"version_id=([^\"&]+)\">|<div class=\"mono small muted break\">([^<]+)</div>", row)
        if found:
            ids.append(html.unescape(found.group(1) or found.group(2)))
    return ids


def test_versions_restore_delete_and_undelete(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("ver", versioned=True)
    key = AWKWARD_KEYS[1]  # unicode, a space, in a folder
    v1 = s3client.put_object(Bucket=bucket, Key=key, Body=b"one", Metadata={"rev": "1"})["VersionId"]
    v2 = s3client.put_object(Bucket=bucket, Key=key, Body=b"two", Metadata={"rev": "2"})["VersionId"]
    # Keys that share the prefix are not versions of this key.
    s3client.put_object(Bucket=bucket, Key=key + "x", Body=b"other")
    s3client.put_object(Bucket=bucket, Key=key + "/child", Body=b"other")

    page = operator_client.get(url("object_versions", endpoint, bucket, key=key)).content.decode()
    assert _version_ids(page) == [v2, v1] and "other" not in page
    assert page.count(">Restore</button>") == 1  # only the older one: the current needs no restore

    # Download an older version: the presigned URL serves its bytes.
    download = operator_client.get(url("object_download", endpoint, bucket, key=key, version_id=v1))
    assert fetch(download["Location"])[2] == b"one"
    older = operator_client.get(url("object_detail", endpoint, bucket, key=key, version_id=v1)).content.decode()
    assert "not the current version" in older and ">Edit</button>" not in older

    # Restore v1: a copy over the current version, with v1's metadata; the history grows.
    restored = operator_client.post(url("object_version_restore", endpoint, bucket), {"key": key, "version_id": v1})
    assert restored.status_code == 302
    current = s3client.get_object(Bucket=bucket, Key=key)
    assert current["Body"].read() == b"one" and current["Metadata"] == {"rev": "1"}
    v3 = current["VersionId"]
    assert v3 not in (v1, v2)
    event = AuditEvent.objects.get(action="object.version.restore")
    assert event.version_id == v1 and event.before["current"]["version_id"] == v2
    assert event.after["current"]["version_id"] == v3 and event.outcome == "ok"

    # Delete the key (a delete marker on top); the versions page offers undelete.
    marker = s3client.delete_object(Bucket=bucket, Key=key)["VersionId"]
    assert operator_client.get(url("object_detail", endpoint, bucket, key=key)).status_code == 404
    page = operator_client.get(url("object_versions", endpoint, bucket, key=key)).content.decode()
    assert _version_ids(page) == [marker, v3, v2, v1] and ">Undelete</button>" in page
    stale = operator_client.post(url("object_undelete", endpoint, bucket), {"key": key, "version_id": v2})
    assert stale.status_code == 302 and s3client.list_object_versions(Bucket=bucket, Prefix=key).get("DeleteMarkers")
    undeleted = operator_client.post(url("object_undelete", endpoint, bucket), {"key": key, "version_id": marker})
    assert undeleted.status_code == 302
    assert s3client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"one"
    event = AuditEvent.objects.get(action="object.undelete", outcome="ok")
    assert event.version_id == marker and event.after["current"]["version_id"] == v3

    # Delete v2 permanently: a confirmation page first, then the POST.
    confirm = operator_client.get(url("object_version_delete", endpoint, bucket, key=key, version_id=v2))
    assert confirm.status_code == 200 and "Delete permanently" in confirm.content.decode()
    gone = operator_client.post(url("object_version_delete", endpoint, bucket), {"key": key, "version_id": v2})
    assert gone.status_code == 302
    left = [
        v["VersionId"] for v in s3client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"] if v["Key"] == key
    ]
    assert sorted(left) == sorted([v3, v1])
    event = AuditEvent.objects.get(action="object.version.delete")
    assert event.version_id == v2 and event.before["current"]["version_id"] == v3


def test_versions_paging_and_viewer(viewer_client, endpoint, s3client, make_bucket, monkeypatch):
    monkeypatch.setattr(reads, "KEY_VERSIONS_PAGE", 2)
    bucket = make_bucket("verpage", versioned=True)
    ids = [s3client.put_object(Bucket=bucket, Key="k", Body=str(i).encode())["VersionId"] for i in range(3)]
    s3client.put_object(Bucket=bucket, Key="k2", Body=b"x")
    first = viewer_client.get(url("object_versions", endpoint, bucket, key="k")).content.decode()
    assert _version_ids(first) == ids[::-1][:2]
    assert ">Restore</button>" not in first and "Delete…" not in first  # a viewer lists and downloads only
    second = viewer_client.get(link(first, "Next page")).content.decode()
    assert _version_ids(second) == [ids[0]] and "Next page" not in second and "First page" in second


def test_incomplete_uploads_list_abort_one_and_all(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("mpu")
    keys = ["a <b>.bin", "c d/e.bin", "f.bin"]
    uploads = {k: s3client.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in keys}
    page = operator_client.get(url("multipart_list", endpoint, bucket)).content.decode()
    assert "a &lt;b&gt;.bin" in page and all(u in page for u in uploads.values())

    # The page function follows the markers (SeaweedFS orders by upload id and leaves NextKeyMarker empty).
    first = s3.list_uploads_page(endpoint=endpoint, bucket=bucket, max_uploads=2)
    assert len(first["uploads"]) == 2 and first["next"]
    rest = s3.list_uploads_page(endpoint=endpoint, bucket=bucket, max_uploads=2, **first["next"])
    assert sorted(u["key"] for u in first["uploads"] + rest["uploads"]) == sorted(keys) and rest["next"] is None

    aborted = operator_client.post(
        url("multipart_abort", endpoint, bucket), {"key": keys[0], "upload_id": uploads[keys[0]]}
    )
    assert aborted.status_code == 302
    assert sorted(u["Key"] for u in s3client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == keys[1:]
    assert AuditEvent.objects.get(action="multipart.abort").params["upload_id"] == uploads[keys[0]]

    assert operator_client.get(url("multipart_abort_all", endpoint, bucket)).status_code == 200
    wrong = operator_client.post(url("multipart_abort_all", endpoint, bucket), {"confirm": "nope"})
    assert wrong.status_code == 302 and len(s3client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 2
    done = operator_client.post(url("multipart_abort_all", endpoint, bucket), {"confirm": bucket})
    assert done.status_code == 302
    assert s3client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    event = AuditEvent.objects.get(action="multipart.abort_all")
    assert event.params["count"] == 2 and event.outcome == "ok"
    empty = operator_client.get(url("multipart_list", endpoint, bucket)).content.decode()
    assert "No incomplete uploads in this bucket." in empty
