"""Browsing a bucket: folders and breadcrumbs, one ListObjectsV2 call a page, paging, filter, awkward keys."""

from __future__ import annotations

import html
import re

import pytest
from moto import mock_aws

from buckets import s3
from buckets.views.objects import attachment_disposition
from console.models import AuditEvent, Endpoint
from tests.objects_fixtures import AWKWARD_KEYS, fast_client, fetch, folder_of, link, links, put_many, query_of, url


def _rows(page: str) -> int:
    """Object rows and the folder-marker row (by their markup: a viewer's rows have no checkboxes)."""
    return page.count('<use href="#icon-file"></use>') + page.count('<tr class="folder-marker">')


def _folders(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<tr class="folder">.*?<span>([^<]*)</span>', page, re.S)]


def test_paging_2500_keys_one_call_a_page(admin_client, endpoint, seaweed, make_bucket, htmx_headers):
    bucket = make_bucket("page")
    keys = [f"big/k-{i:04d}.txt" for i in range(2500)] + [f"big/sub-{i}/inner.txt" for i in range(5)]
    put_many(fast_client(seaweed), bucket, keys + ["big/sub-0/deeper/x.txt", "other.txt"])

    default = admin_client.get(url("object_list", endpoint, bucket, prefix="big/")).content.decode()
    assert _rows(default) == 100 and query_of(link(default, "Next page"))["prefix"] == "big/"

    s3.CALL_COUNTS.clear()
    first = admin_client.get(url("object_list", endpoint, bucket, prefix="big/", size=1000))
    assert first.status_code == 200
    assert dict(s3.CALL_COUNTS) == {"ListObjectsV2": 1}  # one call, whatever the folder's size
    page = first.content.decode()
    assert _rows(page) == 1000 and "k-0000.txt" in page and "k-0999.txt" in page and "k-1000.txt" not in page
    assert "First page" not in page

    s3.CALL_COUNTS.clear()
    second = admin_client.get(link(page, "Next page"))
    assert dict(s3.CALL_COUNTS) == {"ListObjectsV2": 1}
    page = second.content.decode()
    assert _rows(page) == 1000 and "k-1000.txt" in page and "k-1999.txt" in page
    assert query_of(link(page, "First page")) == {"prefix": "big/", "size": "1000"}

    # The next page through htmx: only the table partial comes back.
    third = admin_client.get(link(page, "Next page"), **htmx_headers)
    page = third.content.decode()
    assert "<html" not in page and page.lstrip().startswith('<div id="object-table"')
    assert _rows(page) == 500 and "k-2499.txt" in page and "Next page" not in page
    assert _folders(page) == [f"sub-{i}/" for i in range(5)]  # sub-folders, named relative to the prefix


def test_breadcrumbs_filter_and_folder_marker(viewer_client, endpoint, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("crumbs")
    for key in ["photos/", "photos/2024/", "photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2024/beach/c.jpg"]:
        s3client.put_object(Bucket=bucket, Key=key, Body=b"" if key.endswith("/") else b"jpeg")

    root = viewer_client.get(url("object_list", endpoint, bucket)).content.decode()
    assert _folders(root) == ["photos/"] and _rows(root) == 0

    # The folder marker "photos/2024/" is this folder itself: shown once, linked to its object page, not a folder.
    page = viewer_client.get(url("object_list", endpoint, bucket, prefix="photos/2024/")).content.decode()
    assert "This folder's own object" in page and "folder marker" in page
    assert url("object_detail", endpoint, bucket, key="photos/2024/") in links(page)
    assert _folders(page) == ["beach/"]
    assert _rows(page) == 3  # the marker, a.jpg, b.jpg
    crumbs = [h for h in links(page) if "prefix=" in h]
    assert url("object_list", endpoint, bucket, prefix="photos/") in crumbs
    assert url("object_list", endpoint, bucket, prefix="photos/2024/beach/") in crumbs

    # The filter narrows on the server: it is added to the prefix of the one ListObjectsV2 call.
    s3.CALL_COUNTS.clear()
    filtered = viewer_client.get(
        url("object_list", endpoint, bucket, prefix="photos/2024/", filter="b"), **htmx_headers
    )
    assert dict(s3.CALL_COUNTS) == {"ListObjectsV2": 1}
    page = filtered.content.decode()
    assert _folders(page) == ["beach/"] and _rows(page) == 1 and "b.jpg" in page and "a.jpg" not in page
    nothing = viewer_client.get(url("object_list", endpoint, bucket, prefix="photos/", filter="zzz")).content.decode()
    assert "Nothing here starts with “zzz”." in nothing


def test_awkward_keys_list_link_and_download(viewer_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("awk")
    body = {key: b"" if key.endswith("/") else f"content of {key}".encode() for key in AWKWARD_KEYS}
    for key in AWKWARD_KEYS:
        s3client.put_object(Bucket=bucket, Key=key, Body=body[key])  # SeaweedFS keeps no body for "dir/"
    listed = {}
    assert len(AWKWARD_KEYS[-1].encode()) == 1024
    for prefix in {folder_of(key) for key in AWKWARD_KEYS}:
        page = viewer_client.get(url("object_list", endpoint, bucket, prefix=prefix)).content.decode()
        assert "<script>alert" not in page  # escaped, never markup
        for href in links(page):
            if "/object/?" in href:
                listed[query_of(href)["key"]] = href
    assert set(AWKWARD_KEYS) <= set(listed)

    for key in AWKWARD_KEYS:
        detail = viewer_client.get(listed[key])
        assert detail.status_code == 200, key
        assert html.escape(key) in detail.content.decode()
        download = viewer_client.get(url("object_download", endpoint, bucket, key=key))
        assert download.status_code == 302
        status, headers, content = fetch(download["Location"])
        assert status == 200 and content == body[key]
        if key.endswith("/"):
            continue  # SeaweedFS serves a folder marker as a directory, without the response-* overrides
        assert headers["Content-Disposition"] == attachment_disposition(key)


def test_content_disposition_is_safe_for_any_name():
    assert attachment_disposition("docs/report.pdf") == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    assert attachment_disposition("a/ünï cödé.txt") == (
        "attachment; filename=\"uni code.txt\"; filename*=UTF-8''%C3%BCn%C3%AF%20c%C3%B6d%C3%A9.txt"
    )
    nasty = attachment_disposition('x/"quo\\te"\r\nSet-Cookie: a=b;.txt')
    fallback = nasty.split('filename="', 1)[1].split('";', 1)[0]
    assert '"' not in fallback and "\\" not in fallback and "\r" not in nasty and "\n" not in nasty
    assert attachment_disposition("日本語.txt").startswith('attachment; filename=".txt"')
    assert attachment_disposition("folder/") == "attachment; filename=\"folder\"; filename*=UTF-8''folder"
    assert attachment_disposition("\x01\x02") == "attachment; filename=\"download\"; filename*=UTF-8''download"


def test_roles_on_the_list(client, viewer_client, endpoint, make_bucket, nobody_user, django_user_model):
    bucket = make_bucket("roles")
    assert viewer_client.get(url("object_list", endpoint, bucket)).status_code == 200
    client.force_login(nobody_user)
    assert client.get(url("object_list", endpoint, bucket)).status_code == 404
    assert client.get(url("object_detail", endpoint, bucket, key="x")).status_code == 404
    assert client.get(url("object_download", endpoint, bucket, key="x")).status_code == 404
    assert client.get(url("multipart_list", endpoint, bucket)).status_code == 404
    assert not AuditEvent.objects.filter(outcome="failed").exists()


def test_rows_are_selectable_only_by_who_can_act_on_a_selection(
    viewer_client, operator_user, endpoint, s3client, make_bucket
):
    """A viewer who may write nowhere gets no bulk bar, so no checkboxes either; an operator gets both."""
    from django.test import Client

    bucket = make_bucket("select")
    for key in ("docs/", "docs/a.txt", "docs/sub/b.txt"):
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    boxes = re.compile(r'<input type="checkbox" (?:data-select-all|name="(?:key|folder)_b64")')
    viewed = viewer_client.get(url("object_list", endpoint, bucket, prefix="docs/")).content.decode()
    assert "a.txt" in viewed and "This folder's own object" in viewed and "sub/" in viewed
    assert not boxes.search(viewed)
    assert "Delete…" not in viewed and "Move…" not in viewed
    operator = Client()
    operator.force_login(operator_user)
    acted = operator.get(url("object_list", endpoint, bucket, prefix="docs/")).content.decode()
    assert len(boxes.findall(acted)) == 4  # select all, the marker, the folder, the object


@pytest.mark.django_db
def test_double_slashes_and_dot_dot_keys_on_moto(admin_client):
    """Keys SeaweedFS rewrites or refuses ("a//b", "..", "a/../b"): listed, linked and opened correctly."""
    with mock_aws():
        endpoint = Endpoint(name="moto", url="", region="us-east-1", credential_source="keys", access_key_id="testing")
        endpoint.set_secret_access_key("testing")
        endpoint.save()
        raw = s3.client_for(endpoint)
        raw.create_bucket(Bucket="awkward")
        for key in ["a/", "a//b", "a//", "..", "a/../b", "back\\slash"]:
            raw.put_object(Bucket="awkward", Key=key, Body=key.encode())

        root = admin_client.get(url("object_list", endpoint, "awkward")).content.decode()
        assert _folders(root) == ["a/"] and url("object_detail", endpoint, "awkward", key="..") in links(root)

        page = admin_client.get(url("object_list", endpoint, "awkward", prefix="a/")).content.decode()
        assert _folders(page) == ["../", "/"]  # "a//" and "a/../" are folders of "a/"
        assert url("object_list", endpoint, "awkward", prefix="a//") in links(page)
        assert "This folder's own object" in page  # "a/" itself

        deeper = admin_client.get(url("object_list", endpoint, "awkward", prefix="a//")).content.decode()
        assert url("object_detail", endpoint, "awkward", key="a//b") in links(deeper)
        assert url("object_detail", endpoint, "awkward", key="a//") in links(deeper)  # its own marker
        assert url("object_list", endpoint, "awkward", prefix="a/") in links(deeper)  # breadcrumb "a"

        for key in ["a//b", "..", "a/../b", "a//", "back\\slash"]:
            detail = admin_client.get(url("object_detail", endpoint, "awkward", key=key))
            assert detail.status_code == 200 and html.escape(key) in detail.content.decode()
        s3.forget_client(endpoint)
