"""The object browser's additions: create a folder, folders selectable (for bulk over their prefix), the per-row
actions menu, Restore in the folder's versions list, the upload panel folded as it was left."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from buckets.forms.transfer import encode_key
from tests.transfer_fixtures import events, list_keys, records_fixture, url  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _viewer(viewer_user) -> Client:
    """Its own client: operator_client and viewer_client are one client logged in twice."""
    client = Client()
    client.force_login(viewer_user)
    return client


def test_create_folder_makes_a_marker_and_is_audited(operator_client, viewer_user, endpoint, s3client, make_bucket):
    bucket = make_bucket("fold")
    response = operator_client.post(url("folder_create", endpoint, bucket), {"prefix": "", "name": "reports"})
    assert response.status_code == 302 and response["Location"] == url(
        "object_list", endpoint, bucket, prefix="reports/"
    )
    assert list_keys(s3client, bucket) == ["reports/"]
    head = s3client.head_object(Bucket=bucket, Key="reports/")
    assert head["ContentLength"] == 0
    (event,) = events("folder.create")
    assert (event.outcome, event.key, event.after) == ("ok", "reports/", {"kept": True})

    nested = operator_client.post(url("folder_create", endpoint, bucket), {"prefix": "reports/", "name": "2026/q1/"})
    assert nested.status_code == 302 and "reports/2026/q1/" in list_keys(s3client, bucket)
    bad = operator_client.post(url("folder_create", endpoint, bucket), {"prefix": "reports/", "name": "a//b"})
    assert bad.status_code == 302 and len(events("folder.create")) == 2  # refused by the form: no S3 call, no row
    assert (
        _viewer(viewer_user).post(url("folder_create", endpoint, bucket), {"prefix": "", "name": "x"}).status_code
        == 403
    )
    assert "x/" not in list_keys(s3client, bucket)


def test_list_rows_have_folder_checkboxes_and_an_actions_menu(
    operator_client, viewer_user, endpoint, s3client, make_bucket
):
    bucket = make_bucket("rows")
    s3client.put_object(Bucket=bucket, Key="docs/a <b>.txt", Body=b"a")
    s3client.put_object(Bucket=bucket, Key="top.txt", Body=b"t")
    page = operator_client.get(url("object_list", endpoint, bucket)).content.decode()
    assert f'name="folder_b64" value="{encode_key("docs/")}"' in page
    menu = re.search(
        r'<td class="row-menu"><details class="menu">.*?</details></td>', page.split("top.txt", 1)[1]
    ).group(0)
    labels = re.findall(r">([^<>]+)</a></li>", menu)
    assert labels == ["Download", "Versions", "Copy…", "Move…", "Rename…", "Delete…"]
    assert html.unescape(re.search(r'href="([^"]*)"', menu).group(1)).endswith("/object/download/?key=top.txt")
    assert 'aria-label="Actions for the folder docs/"' in page and "Bulk action…" in page
    viewer_page = _viewer(viewer_user).get(url("object_list", endpoint, bucket)).content.decode()
    viewer_menu = re.search(
        r'<td class="row-menu"><details class="menu">.*?</details></td>', viewer_page.split("top.txt", 1)[1]
    )
    assert re.findall(r">([^<>]+)</a></li>", viewer_menu.group(0)) == [
        "Download",
        "Versions",
    ]  # no copy: writes nowhere
    assert "New folder" not in viewer_page


def test_ticked_folders_go_to_a_bulk_job(operator_client, endpoint, s3client, make_bucket, records):
    bucket = make_bucket("tick")
    records(bucket)
    for key in ("d/one/a.txt", "d/one/b.txt", "d/two.txt"):
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    data = {"prefix": "d/", "folder_b64": [encode_key("d/one/")], "key_b64": [encode_key("d/two.txt")]}
    page = operator_client.post(url("selection_delete_review", endpoint, bucket), data)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Bulk action" in text and 'value="delete" selected' in text and "everything in “d/one/”" in text


def test_versions_list_restores_an_older_version(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("ver", versioned=True)
    old = s3client.put_object(Bucket=bucket, Key="v/file.txt", Body=b"old")["VersionId"]
    s3client.put_object(Bucket=bucket, Key="v/file.txt", Body=b"new")
    listing = url("object_list", endpoint, bucket, prefix="v/", versions="1")
    page = operator_client.get(listing).content.decode()
    assert page.count(">Restore</button>") == 1  # the older version only
    response = operator_client.post(
        url("object_version_restore", endpoint, bucket),
        {"key_b64": encode_key("v/file.txt"), "version_id": old, "next": listing},
    )
    assert response.status_code == 302 and response["Location"] == listing
    assert s3client.get_object(Bucket=bucket, Key="v/file.txt")["Body"].read() == b"old"
    assert len(s3client.list_object_versions(Bucket=bucket, Prefix="v/")["Versions"]) == 3  # history kept
    assert events("object.version.restore")[0].outcome == "ok"


def test_upload_panel_folds_as_it_was_left(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("fold")
    s3client.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    panel = r'<details class="card upload-toggle"[^>]*>'
    assert " open" not in re.search(
        panel, operator_client.get(url("object_list", endpoint, bucket)).content.decode()
    ).group(0)
    empty = url("object_list", endpoint, bucket, prefix="nothing/")
    assert " open" in re.search(panel, operator_client.get(empty).content.decode()).group(0)  # empty: open to upload
    operator_client.cookies["upload_panel"] = "open"
    assert " open" in re.search(
        panel, operator_client.get(url("object_list", endpoint, bucket)).content.decode()
    ).group(0)
    operator_client.cookies["upload_panel"] = "closed"
    assert " open" not in re.search(panel, operator_client.get(empty).content.decode()).group(0)
