"""The object page: properties, inline edits (metadata, tags, ACL, storage class), conflicts, share, preview, roles."""

from __future__ import annotations

import hashlib
import html
import re
import urllib.parse

import pytest
from django.test import Client
from django.utils import timezone
from moto import mock_aws

from buckets import s3
from buckets.forms.base import read_seen
from buckets.forms.transfer import decode_key
from buckets.services import copying
from console.models import AuditEvent, Endpoint
from tests.objects_fixtures import AWKWARD_KEYS, allow_acls, fetch, section_url, url

CHANGED = "nothing was saved"  # a save over someone else's change, whichever way it is caught


def _hidden(page: str) -> dict[str, str]:
    """The hidden inputs of a form partial (key, seen), as the browser would send them back."""
    found = re.findall(r"<input type=\"hidden\" name=\"(\w+)\" value=\"([^\"]*)\"", page)
    return {n: html.unescape(v) for n, v in found if n != "csrfmiddlewaretoken"}


def _opened(client, name: str, endpoint, bucket: str, key: str) -> dict[str, str]:
    """Open an edit form (GET .../edit/) and keep what it carries."""
    answer = client.get(section_url("edit", name, endpoint, bucket, key=key), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    return _hidden(answer.content.decode())


def _metadata_post(state: dict, rows: list[tuple[str, str]], **headers) -> dict:
    return {**state, "meta_key": [r[0] for r in rows], "meta_value": [r[1] for r in rows], **headers}


def test_object_page_shows_properties_checksum_and_preview(viewer_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("page")
    key = "notes/<b>readme</b>.md"
    s3client.put_object(
        Bucket=bucket,
        Key=key,
        Body=b"# Title\n<script>alert(1)</script>\n",
        ContentType="text/markdown",
        Metadata={"owner": "team-a"},
        ChecksumAlgorithm="SHA256",
        ServerSideEncryption="AES256",
    )
    s3client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    page = viewer_client.get(url("object_detail", endpoint, bucket, key=key)).content.decode()
    assert "&lt;b&gt;readme&lt;/b&gt;.md" in page and "<b>readme</b>" not in page
    assert "text/markdown" in page and "team-a" in page and "prod" in page
    assert "SHA256" in page and "SSE-S3 (AES256)" in page
    assert '<pre class="preview-text"># Title\n&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert ">Edit</button>" not in page and "Share link" not in page  # a viewer reads only
    missing = viewer_client.get(url("object_detail", endpoint, bucket, key="nope"))
    assert missing.status_code == 404 and "No such object" in missing.content.decode()


def test_metadata_edit_and_concurrent_conflict(operator_client, endpoint, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("meta")
    key = AWKWARD_KEYS[0]
    s3client.put_object(
        Bucket=bucket,
        Key=key,
        Body=b"data",
        ContentType="text/plain",
        Metadata={"old": "1"},
        StorageClass="STANDARD_IA",
    )
    s3client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "keep", "Value": "me"}]})

    # Two people open the form: both see the same ETag.
    form = operator_client.get(section_url("edit", "metadata", endpoint, bucket, key=key), **htmx_headers)
    assert form.status_code == 200 and 'value="old"' in form.content.decode()
    state_a = _hidden(form.content.decode())
    state_b = _opened(operator_client, "metadata", endpoint, bucket, key)
    # The tokens carry their signing time; what they vouch for is the same state.
    assert read_seen(state_a["seen"]) == read_seen(state_b["seen"]) and state_a["key_b64"] == state_b["key_b64"]
    assert decode_key(state_a["key_b64"]) == key
    etag = s3client.head_object(Bucket=bucket, Key=key)["ETag"]

    first = operator_client.post(
        section_url("save", "metadata", endpoint, bucket),
        _metadata_post(state_a, [("Team", "blue"), ("x-amz-meta-Build", "42")], cache_control="max-age=60",
                       content_type="text/csv", content_disposition='inline; filename="a.csv"',
                       expires="2030-01-02 03:04"),
        **htmx_headers,
    )  # fmt: skip
    assert first.status_code == 200, first.content.decode()
    body = first.content.decode()
    assert "blue" in body and "max-age=60" in body and 'id="object-properties" hx-swap-oob="true"' in body
    head = s3client.head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {"team": "blue", "build": "42"} and head["CacheControl"] == "max-age=60"
    assert head["ContentType"] == "text/csv" and head["ContentDisposition"] == 'inline; filename="a.csv"'
    assert head["ExpiresString"] == "Wed, 02 Jan 2030 03:04:00 GMT"
    assert head.get("StorageClass") == "STANDARD_IA"  # kept across the copy
    assert s3client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == [{"Key": "keep", "Value": "me"}]

    # The second editor saves with the ETag they saw: refused with the message, S3 keeps the first edit.
    s3.CALL_COUNTS.clear()
    assert s3client.head_object(Bucket=bucket, Key=key)["ETag"] == etag  # same bytes: the ETag alone cannot tell
    second = operator_client.post(
        section_url("save", "metadata", endpoint, bucket), _metadata_post(state_b, [("team", "red")]), **htmx_headers
    )
    assert second.status_code == 422 and CHANGED in second.content.decode()
    assert "team: “blue” → (none)" not in second.content.decode()  # the change is told as it is:
    assert "metadata › team: (none) → “blue”" in second.content.decode()
    assert s3.CALL_COUNTS["CopyObject"] == 0
    assert s3client.head_object(Bucket=bucket, Key=key)["Metadata"] == {"team": "blue", "build": "42"}

    event = AuditEvent.objects.get(action="object.metadata.put", outcome="ok")
    assert event.key == key and event.before["metadata"] == {"old": "1"}
    assert event.after["metadata"] == {"team": "blue", "build": "42"}
    assert event.actor_name == "oscar" and event.role == "operator"


def test_conflict_between_read_and_copy_is_caught_by_s3(operator_client, endpoint, s3client, make_bucket, monkeypatch):
    """The object changes after the view read it but before the copy: CopySourceIfMatch refuses, nothing changes."""
    bucket = make_bucket("race")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"one", Metadata={"v": "1"})
    state = _opened(operator_client, "metadata", endpoint, bucket, "k")
    real_copy = copying.copy_onto_itself

    def someone_writes_first(**kwargs):
        s3client.put_object(Bucket=bucket, Key="k", Body=b"two", Metadata={"v": "2"})
        return real_copy(**kwargs)

    monkeypatch.setattr(copying, "copy_onto_itself", someone_writes_first)
    answer = operator_client.post(
        section_url("save", "metadata", endpoint, bucket), _metadata_post(state, [("v", "mine")])
    )
    assert answer.status_code == 422 and CHANGED in answer.content.decode()
    assert s3client.head_object(Bucket=bucket, Key="k")["Metadata"] == {"v": "2"}
    failed = AuditEvent.objects.get(action="object.metadata.put")
    assert failed.outcome == "failed" and failed.error_code == "PreconditionFailed"


def test_metadata_validation_before_any_s3_write(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("valid")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"x")
    state = _opened(operator_client, "metadata", endpoint, bucket, "k")
    cases = [
        ([("bad name", "v")], "may only contain letters"),
        ([("ok", "naïve")], "printable ASCII"),
        ([("a", "1"), ("A", "2")], "appears twice"),
        ([("big", "x" * 2100)], "at most 2048 bytes"),
        ([("", "orphan")], "has no name"),
    ]
    s3.CALL_COUNTS.clear()
    for rows, message in cases:
        answer = operator_client.post(section_url("save", "metadata", endpoint, bucket), _metadata_post(state, rows))
        assert answer.status_code == 422 and message in answer.content.decode(), message
    bad_header = operator_client.post(
        section_url("save", "metadata", endpoint, bucket), _metadata_post(state, [], content_language="fr—CA")
    )
    assert bad_header.status_code == 422 and "printable ASCII" in bad_header.content.decode()
    bad_date = operator_client.post(
        section_url("save", "metadata", endpoint, bucket), _metadata_post(state, [], expires="soon")
    )
    assert bad_date.status_code == 422 and "Not a date" in bad_date.content.decode()
    assert s3.CALL_COUNTS["CopyObject"] == 0 and not AuditEvent.objects.filter(action="object.metadata.put").exists()


def test_multipart_copy_above_the_threshold(operator_client, endpoint, s3client, make_bucket, monkeypatch):
    monkeypatch.setattr(copying, "MULTIPART_COPY_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(copying, "MULTIPART_COPY_PART_SIZE", 5 * 1024 * 1024)
    bucket = make_bucket("mpcopy")
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256)  # 12 MiB: parts of 5, 5 and 2 MiB
    s3client.put_object(Bucket=bucket, Key="big.bin", Body=data, ContentType="application/x-big", Metadata={"a": "1"})
    s3client.put_object_tagging(Bucket=bucket, Key="big.bin", Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
    state = _opened(operator_client, "metadata", endpoint, bucket, "big.bin")
    etag = s3client.head_object(Bucket=bucket, Key="big.bin")["ETag"]

    s3.CALL_COUNTS.clear()
    answer = operator_client.post(
        section_url("save", "metadata", endpoint, bucket),
        _metadata_post(state, [("a", "2")], content_type="application/x-big"),
    )
    assert answer.status_code == 302, answer.content.decode()[:1000]
    assert s3.CALL_COUNTS["UploadPartCopy"] == 3 and s3.CALL_COUNTS["CopyObject"] == 0
    assert s3.CALL_COUNTS["CompleteMultipartUpload"] == 1
    head = s3client.head_object(Bucket=bucket, Key="big.bin")
    assert head["Metadata"] == {"a": "2"} and head["ContentType"] == "application/x-big"
    copied = s3client.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert hashlib.sha256(copied).digest() == hashlib.sha256(data).digest()
    assert s3client.get_object_tagging(Bucket=bucket, Key="big.bin")["TagSet"] == [{"Key": "t", "Value": "v"}]

    # Each part is conditioned on the ETag: a stale one fails, and the upload is aborted (no parts left behind).
    stale = {**s3.head_object(endpoint=endpoint, bucket=bucket, key="big.bin"), "etag": etag}
    with pytest.raises(s3.S3Error) as failed, s3.audited_scope("test"):
        copying.copy_onto_itself(endpoint=endpoint, bucket=bucket, key="big.bin", head=stale, metadata={"a": "3"})
    assert failed.value.code == "PreconditionFailed"
    assert s3client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3client.head_object(Bucket=bucket, Key="big.bin")["Metadata"] == {"a": "2"}


def test_tags_edit_add_change_remove_and_limits(operator_client, endpoint, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("tags")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3client.put_object_tagging(
        Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}
    )
    edit = operator_client.get(section_url("edit", "tags", endpoint, bucket, key="k"), **htmx_headers).content.decode()
    assert 'name="tag_key" value="a"' in edit and 'name="tag_value" value="2"' in edit

    def post(rows):
        state = _opened(operator_client, "tags", endpoint, bucket, "k")
        data = {**state, "tag_key": [r[0] for r in rows], "tag_value": [r[1] for r in rows]}
        return operator_client.post(section_url("save", "tags", endpoint, bucket), data, **htmx_headers)

    saved = post([("a", "changed"), ("", ""), ("new tag", "ünï")])  # b removed, an empty row ignored
    assert saved.status_code == 200 and "changed" in saved.content.decode()
    tags = s3client.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "changed"), ("new tag", "ünï")]
    event = AuditEvent.objects.get(action="object.tags.put")
    assert event.before == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert sorted(t["key"] for t in event.after) == ["a", "new tag"]

    too_many = post([(f"k{i}", "v") for i in range(11)])
    assert too_many.status_code == 422 and "At most 10 tags" in too_many.content.decode()
    assert post([("aws:x", "v")]).status_code == 422
    assert "longer than 128" in post([("k" * 129, "v")]).content.decode()
    assert "used twice" in post([("d", "1"), ("d", "2")]).content.decode()

    assert post([]).status_code == 200  # every row emptied: no tags at all
    assert s3client.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_storage_class_change_is_conditioned(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("sc")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"keep": "yes"}, ContentType="image/png")
    state = _opened(operator_client, "storage", endpoint, bucket, "k")
    answer = operator_client.post(
        section_url("save", "storage", endpoint, bucket), {**state, "storage_class": "STANDARD_IA"}
    )
    assert answer.status_code == 302
    head = s3client.head_object(Bucket=bucket, Key="k")
    assert head["StorageClass"] == "STANDARD_IA" and head["Metadata"] == {"keep": "yes"}
    assert head["ContentType"] == "image/png"
    event = AuditEvent.objects.get(action="object.storage_class.put")
    assert event.before["storage_class"] == "STANDARD" and event.after["storage_class"] == "STANDARD_IA"
    stale = operator_client.post(
        section_url("save", "storage", endpoint, bucket), {**state, "storage_class": "STANDARD"}
    )
    assert stale.status_code == 422 and CHANGED in stale.content.decode()
    assert s3client.head_object(Bucket=bucket, Key="k")["StorageClass"] == "STANDARD_IA"


def test_viewer_sees_but_every_edit_is_denied(viewer_client, endpoint, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("deny")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"a": "1"})
    etag = s3client.head_object(Bucket=bucket, Key="k")["ETag"]
    state = {"key": "k", "etag": etag, "seen": "whatever"}
    for name in ["metadata", "tags", "acl", "storage"]:
        assert (
            viewer_client.get(section_url("show", name, endpoint, bucket, key="k"), **htmx_headers).status_code == 200
        )
        assert viewer_client.get(section_url("edit", name, endpoint, bucket, key="k")).status_code == 403
    posts = {
        "object_metadata": _metadata_post(state, [("a", "2")]),
        "object_tags": {"key": "k", "tag_key": "x", "tag_value": "y"},
        "object_acl": {"key": "k", "canned": "public-read"},
        "object_storage": {"key": "k", "etag": etag, "storage_class": "STANDARD_IA"},
        "object_share": {"key": "k", "amount": "1", "unit": "hours"},
        "object_version_restore": {"key": "k", "version_id": "v1"},
        "object_version_delete": {"key": "k", "version_id": "v1"},
        "object_undelete": {"key": "k", "version_id": "v1"},
        "multipart_abort": {"key": "k", "upload_id": "u"},
        "multipart_abort_all": {"confirm": bucket},
    }
    s3.CALL_COUNTS.clear()
    sections = {"object_metadata": "metadata", "object_tags": "tags", "object_acl": "acl", "object_storage": "storage"}
    for name, data in posts.items():
        target = (
            section_url("save", sections[name], endpoint, bucket) if name in sections else url(name, endpoint, bucket)
        )
        assert viewer_client.post(target, data).status_code == 403, name
    assert sum(s3.CALL_COUNTS.values()) == 0
    assert AuditEvent.objects.filter(outcome="denied").count() == len(posts) + 4
    assert s3client.head_object(Bucket=bucket, Key="k")["Metadata"] == {"a": "1"}


def test_share_link_expiry_cap_and_audit(operator_client, viewer_user, endpoint, s3client, make_bucket, monkeypatch):
    bucket = make_bucket("share")
    key = "reports/ünï 2024 #1.txt"
    s3client.put_object(Bucket=bucket, Key=key, Body=b"shared bytes")
    answer = operator_client.post(url("object_share", endpoint, bucket), {"key": key, "amount": "2", "unit": "hours"})
    page = answer.content.decode()
    shared = html.unescape(re.search(r'id="share-url" type="text" readonly value="([^"]*)"', page).group(1))
    assert 'data-copy="share-url"' in page
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(shared).query)["X-Amz-Expires"] == ["7200"]
    status, _, body = fetch(shared)
    assert status == 200 and body == b"shared bytes"
    event = AuditEvent.objects.get(action="object.share")
    assert event.key == key and event.params["expires_in_seconds"] == 7200 and event.outcome == "ok"
    assert "Signature" not in str(event.params) and "X-Amz" not in str(event.params)

    too_long = operator_client.post(url("object_share", endpoint, bucket), {"key": key, "amount": "8", "unit": "days"})
    assert too_long.status_code == 422 and "at most 7 days" in too_long.content.decode()

    # Temporary credentials that expire in 30 minutes: the link is cut to them, and the page says so.
    expiry = timezone.now() + timezone.timedelta(minutes=30)
    monkeypatch.setattr(s3, "credentials_lifetime", lambda **kw: {"temporary": True, "expires_at": expiry})
    capped = operator_client.post(url("object_share", endpoint, bucket), {"key": key, "amount": "1", "unit": "days"})
    page = capped.content.decode()
    assert "temporary credentials" in page
    seconds = int(re.search(r"X-Amz-Expires=(\d+)", html.unescape(page)).group(1))
    assert 1700 < seconds <= 1800
    viewer = Client()
    viewer.force_login(viewer_user)
    denied = viewer.post(url("object_share", endpoint, bucket), {"key": key, "amount": "1", "unit": "hours"})
    assert denied.status_code == 403


def test_preview_text_truncated_image_and_binary(viewer_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("preview")
    text = ("line ünï <tag> " * 5000).encode()  # ~80 KiB
    s3client.put_object(Bucket=bucket, Key="big.log", Body=text, ContentType="binary/octet-stream")
    s3client.put_object(Bucket=bucket, Key="pic.png", Body=b"\x89PNG\r\n\x1a\n" + b"0" * 100, ContentType="image/png")
    s3client.put_object(Bucket=bucket, Key="blob", Body=b"\x00\x01\x02\xff" * 10, ContentType="")
    s3.CALL_COUNTS.clear()
    page = viewer_client.get(url("object_detail", endpoint, bucket, key="big.log")).content.decode()
    assert "Showing the first 64 KiB" in page and "line ünï &lt;tag&gt;" in page
    assert s3.CALL_COUNTS["GetObject"] == 1  # one Range request, not the whole object
    image = viewer_client.get(url("object_detail", endpoint, bucket, key="pic.png")).content.decode()
    src = html.unescape(re.search(r'<img src="([^"]*)"', image).group(1))
    assert src.startswith(endpoint.url) and "X-Amz-Signature" in src
    assert fetch(src)[2].startswith(b"\x89PNG")
    blob = viewer_client.get(url("object_detail", endpoint, bucket, key="blob")).content.decode()
    assert "No preview for this kind of content" in blob and "<pre" not in blob


@pytest.mark.django_db
def test_acl_canned_and_grants_on_moto(admin_client, htmx_headers):
    with mock_aws():
        endpoint = Endpoint(name="moto", url="", region="us-east-1", credential_source="keys", access_key_id="testing")
        endpoint.set_secret_access_key("testing")
        endpoint.save()
        raw = s3.client_for(endpoint)
        raw.create_bucket(Bucket="acl-bucket")
        raw.put_object(Bucket="acl-bucket", Key="a b.txt", Body=b"x", Metadata={"m": "1"})
        all_users = "http://acs.amazonaws.com/groups/global/AllUsers"

        state = _opened(admin_client, "acl", endpoint, "acl-bucket", "a b.txt")
        saved = admin_client.post(
            section_url("save", "acl", endpoint, "acl-bucket"), {**state, "canned": "public-read"}, **htmx_headers
        )
        assert saved.status_code == 200 and "Everyone (AllUsers)" in saved.content.decode()
        grants = raw.get_object_acl(Bucket="acl-bucket", Key="a b.txt")["Grants"]
        assert any(g["Grantee"].get("URI") == all_users and g["Permission"] == "READ" for g in grants)
        event = AuditEvent.objects.get(action="object.acl.put")
        assert event.params["canned"] == "public-read"
        assert any(g["grantee"] == all_users for g in event.after["grants"])
        assert not any(g["grantee"] == all_users for g in event.before["grants"])

        s3.forget_client(endpoint)


def test_acl_explicit_grants_kept_across_metadata_edit(admin_client, endpoint, s3client, make_bucket):
    """On SeaweedFS (moto ignores an AccessControlPolicy body): explicit grants, then a copy that keeps them."""
    bucket = make_bucket("grants")
    allow_acls(s3client, bucket)  # SeaweedFS buckets start with ACLs disabled
    s3client.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"m": "1"})
    owner = s3client.get_object_acl(Bucket=bucket, Key="k")["Owner"]["ID"]
    all_users = "http://acs.amazonaws.com/groups/global/AllUsers"
    form = admin_client.get(section_url("edit", "acl", endpoint, bucket, key="k")).content.decode()
    assert f'name="grant_grantee" value="{owner}"' in form
    grants = {
        "canned": "",
        "grant_type": ["CanonicalUser", "Group", "CanonicalUser"],
        "grant_grantee": [owner, "AllUsers", ""],  # the short group name; an unused row
        "grant_permission": ["FULL_CONTROL", "READ", "READ"],
    }
    state = _opened(admin_client, "acl", endpoint, bucket, "k")
    assert admin_client.post(section_url("save", "acl", endpoint, bucket), {**state, **grants}).status_code == 302

    def held():
        acl = s3client.get_object_acl(Bucket=bucket, Key="k")["Grants"]
        return sorted((g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in acl)

    assert held() == sorted([(owner, "FULL_CONTROL"), (all_users, "READ")])
    page = admin_client.get(url("object_detail", endpoint, bucket, key="k")).content.decode()
    assert "Everyone (AllUsers)" in page

    # A copy onto itself gets the default ACL on AWS: the console puts the grants back.
    s3.CALL_COUNTS.clear()
    state = _opened(admin_client, "metadata", endpoint, bucket, "k")
    edited = admin_client.post(section_url("save", "metadata", endpoint, bucket), _metadata_post(state, [("m", "2")]))
    assert edited.status_code == 302
    assert s3.CALL_COUNTS["PutObjectAcl"] == 1 and held() == sorted([(owner, "FULL_CONTROL"), (all_users, "READ")])

    state = _opened(admin_client, "acl", endpoint, bucket, "k")
    bad = admin_client.post(
        section_url("save", "acl", endpoint, bucket),
        {**state, "canned": "", "grant_type": "Group", "grant_grantee": "Everyone", "grant_permission": "READ"},
    )
    assert bad.status_code == 422 and "the group must be one of" in bad.content.decode()
    stale = admin_client.post(
        section_url("save", "acl", endpoint, bucket), {"key": "k", "seen": "old", "canned": "private"}
    )
    assert stale.status_code == 422 and CHANGED in stale.content.decode()
    assert held() == sorted([(owner, "FULL_CONTROL"), (all_users, "READ")])


def test_refusals_show_in_place(admin_client, readonly_endpoint, s3client, make_bucket, htmx_headers):
    """Read-only credentials: the page still renders, a refused part says why, a refused save lands in its form."""
    bucket = make_bucket("ro")
    s3client.put_object(Bucket=bucket, Key="k.txt", Body=b"hello", ContentType="text/plain")
    page = admin_client.get(url("object_detail", readonly_endpoint, bucket, key="k.txt"))
    assert page.status_code == 200 and "hello" in page.content.decode()
    state = _opened(admin_client, "metadata", readonly_endpoint, bucket, "k.txt")
    saved = admin_client.post(
        section_url("save", "metadata", readonly_endpoint, bucket), _metadata_post(state, [("a", "1")]), **htmx_headers
    )
    assert saved.status_code == 422 and "not allowed to do this" in saved.content.decode()
    assert AuditEvent.objects.get(action="object.metadata.put").error_code == "AccessDenied"
    missing = admin_client.get(url("object_list", readonly_endpoint, "no-such-bucket-here"))
    assert missing.status_code == 200 and "Could not list this folder" in missing.content.decode()


@pytest.mark.django_db
def test_credentials_lifetime_knows_temporary_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIATEMPORARY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    temporary = Endpoint.objects.create(name="sts", url="http://127.0.0.1:9", credential_source="default")
    assert s3.credentials_lifetime(endpoint=temporary) == {"temporary": True, "expires_at": None}
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    static = Endpoint.objects.create(name="static", url="http://127.0.0.1:9", credential_source="default")
    assert s3.credentials_lifetime(endpoint=static) == {"temporary": False, "expires_at": None}
