"""A prefix-scoped user's listings against SeaweedFS, whose continuation tokens and version markers are
plain key names: no page, htmx fragment or next link of theirs holds a key outside their prefix
(plain, filtered and versions listings), and a token the console did not hand out for that very
listing is refused (issue 10, §3)."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from django.urls import reverse

from buckets import s3
from buckets.views.browse import TOKEN_PURPOSE, listing_of, seal_position
from console import crypto
from console.models import Role, RoleAssignment
from tests.objects_fixtures import fast_client, link, put_many, query_of, url

IN_SCOPE = [f"team-a/f-{i:03d}.txt" for i in range(150)] + ["team-a/sub/deep.txt"]
# Out of the scope: top-level keys enough to fill pages, a sibling sharing the prefix's text, the prefix
# in capitals, another team, and names sorting after the prefix.
OUT_OF_SCOPE = [f"nope-{i:03d}.txt" for i in range(120)] + [
    "team-a-secret/plan.txt",
    "TEAM-A/caps.txt",
    "team-b/salaries.csv",
    "zz-after/late.txt",
]
HIDDEN_WORDS = ("nope-", "team-a-secret", "TEAM-A", "team-b", "zz-after", "salaries", "plan.txt")


@pytest.fixture
def scoped(db, endpoint, seaweed, make_bucket, django_user_model):
    bucket = make_bucket("privacy", versioned=True)
    put_many(fast_client(seaweed), bucket, IN_SCOPE + OUT_OF_SCOPE)
    user = django_user_model.objects.create_user("scoped", password="pw-scoped-123456")
    RoleAssignment.objects.create(user=user, role=Role.VIEWER, endpoint=endpoint, bucket=bucket, prefix="team-a/")
    client = Client()
    client.force_login(user)
    return client, bucket


def _assert_private(text: str, where: str) -> None:
    leaked = [word for word in HIDDEN_WORDS if word in text]
    assert not leaked, f"{where}: {leaked} in the page"


def _walk(client: Client, first: str, *, htmx: bool) -> list[str]:
    """Every page of a listing, following its "Next page" links (as htmx fragments after the first)."""
    pages, href = [], first
    while href:
        response = client.get(href, **({"HTTP_HX_REQUEST": "true"} if htmx and pages else {}))
        assert response.status_code == 200, href
        text = response.content.decode()
        _assert_private(text, href)
        pages.append(text)
        href = link(text, "Next page") if "Next page" in text else ""
        if href:
            token = query_of(href)["token"]
            _assert_private(token, "a next token")
            _assert_private(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("latin-1"), "its bytes")
        assert len(pages) < 10, "the listing never ends"
    return pages


def test_seaweedfs_tokens_are_key_names(scoped, s3client):
    """The premise: what SeaweedFS hands out names the last key of the unfiltered page."""
    _, bucket = scoped
    page = s3client.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=100)
    assert page["IsTruncated"] and "nope-" in page["NextContinuationToken"]
    versions = s3client.list_object_versions(Bucket=bucket, Delimiter="/", MaxKeys=100)
    assert versions["IsTruncated"] and versions["NextKeyMarker"].startswith("nope-")


@pytest.mark.parametrize("htmx", [False, True], ids=["pages", "fragments"])
@pytest.mark.parametrize("versions", [False, True], ids=["objects", "versions"])
def test_a_scoped_users_pages_hold_no_key_outside_the_prefix(scoped, endpoint, versions, htmx):
    client, bucket = scoped
    extra = {"versions": "1"} if versions else {}
    # The bucket's root: 120 hidden keys fill the first page; the way down to team-a/ shows on the second.
    root = "".join(_walk(client, url("object_list", endpoint, bucket, **extra), htmx=htmx))
    assert "team-a/" in root
    # Inside the prefix: two pages of 100, every key of it seen.
    inside = "".join(_walk(client, url("object_list", endpoint, bucket, prefix="team-a/", **extra), htmx=htmx))
    assert all(key.removeprefix("team-a/") in inside for key in IN_SCOPE if "/sub/" not in key)
    assert "sub/" in inside
    # Filtered: names starting with "team-a" at the root (team-a-secret/ among them), and with "nope".
    filtered = "".join(_walk(client, url("object_list", endpoint, bucket, filter="team-a", **extra), htmx=htmx))
    assert "team-a/" in filtered
    _walk(client, url("object_list", endpoint, bucket, filter="nope", **extra), htmx=htmx)
    inside_filtered = "".join(
        _walk(client, url("object_list", endpoint, bucket, prefix="team-a/", filter="f-1", **extra), htmx=htmx)
    )
    assert "f-100.txt" in inside_filtered and "f-099.txt" not in inside_filtered


def _sealed(position: dict, listing: list) -> str:
    return seal_position(position, listing)


def test_crafted_tokens_are_refused(scoped, endpoint):
    client, bucket = scoped
    objects, versions = url("object_list", endpoint, bucket), url("object_list", endpoint, bucket, versions="1")
    here = listing_of("objects", endpoint, bucket, "team-a/")
    crafted = {
        "a plain key name": "nope-050.txt",
        "a key name in base64": base64.urlsafe_b64encode(b"nope-050.txt").decode(),
        "a position in clear JSON": json.dumps({"token": "nope-050.txt"}),
        "sealed for another purpose": crypto.seal("catalog-search-after", "nope-050.txt"),
        "sealed without the listing (the old form)": crypto.seal(TOKEN_PURPOSE, json.dumps({"token": "nope-050.txt"})),
        "a token of another folder": _sealed({"token": "nope-050.txt"}, listing_of("objects", endpoint, bucket, "")),
        "a token of another filter": _sealed({"token": "nope-050.txt"}, [*here[:4], "f"]),
        "a token of another bucket": _sealed(
            {"token": "nope-050.txt"}, listing_of("objects", endpoint, "x", "team-a/")
        ),
        "a versions token on the object list": _sealed(
            {"key_marker": "nope-050.txt", "version_id_marker": ""}, listing_of("versions", endpoint, bucket, "team-a/")
        ),
    }
    for what, token in crafted.items():
        response = client.get(url("object_list", endpoint, bucket, prefix="team-a/", token=token))
        assert response.status_code == 404, what
        assert "nope-" not in response.content.decode(), what
        assert "This page link is not valid (any more): start from the first page." in response.content.decode(), what
    # Markers of the versions list and of one key's versions, and the uploads list: the same.
    object_marker = _sealed({"token": "nope-050.txt"}, listing_of("objects", endpoint, bucket, "team-a/"))
    assert client.get(f"{versions}&prefix=team-a/&token=nope-050.txt").status_code == 404
    assert client.get(f"{versions}&prefix=team-a/&token={object_marker}").status_code == 404
    key_versions = url("object_versions", endpoint, bucket, key="team-a/f-001.txt", token=object_marker)
    assert client.get(key_versions).status_code == 404, "not a 500 from a position of another kind"
    assert client.get(url("multipart_list", endpoint, bucket, token=object_marker)).status_code == 404
    # A token it handed out for this listing still works.
    first = client.get(url("object_list", endpoint, bucket, prefix="team-a/")).content.decode()
    assert client.get(link(first, "Next page")).status_code == 200
    assert client.get(objects).status_code == 200


def test_the_way_down_is_on_the_first_page_without_listing_hidden_keys(scoped, endpoint):
    """Above the prefix the page holds the way down to it, not pages of keys the user may not see."""
    client, bucket = scoped
    for extra in ({}, {"versions": "1"}):
        s3.CALL_COUNTS.clear()
        root = client.get(url("object_list", endpoint, bucket, **extra)).content.decode()
        assert "team-a/" in root and "Next page" not in root and "This bucket is empty" not in root
        assert not {k: n for k, n in s3.CALL_COUNTS.items() if k.startswith("List")}, "no listing of the root"
        # A filter that matches only hidden names finds nothing, and says nothing about how many there are.
        s3.CALL_COUNTS.clear()
        nope = client.get(url("object_list", endpoint, bucket, filter="nope", **extra)).content.decode()
        assert "Next page" not in nope and "Nothing here starts with" in nope
        assert not {k: n for k, n in s3.CALL_COUNTS.items() if k.startswith("List")}


def test_a_prefix_ending_inside_a_folder_is_listed_part_by_part(endpoint, seaweed, make_bucket, django_user_model):
    bucket = make_bucket("parts")
    mine = [f"reports/2024-{i:03d}.csv" for i in range(130)] + ["reports/2024/q1.csv", "reports/2025-x/a.csv"]
    mine += [f"reports/2025-{i:03d}.csv" for i in range(20)]
    put_many(fast_client(seaweed), bucket, mine + ["reports/2023.csv", "reports/2026.csv", "reports/nope.csv"])
    user = django_user_model.objects.create_user("rita", password="pw-rita-123456")
    for prefix in ("reports/2024", "reports/2025"):
        RoleAssignment.objects.create(user=user, role=Role.VIEWER, endpoint=endpoint, bucket=bucket, prefix=prefix)
    client = Client()
    client.force_login(user)
    root = client.get(url("object_list", endpoint, bucket)).content.decode()
    assert "reports/" in root and "Next page" not in root
    pages = _walk(client, url("object_list", endpoint, bucket, prefix="reports/"), htmx=True)
    text = "".join(pages)
    assert len(pages) == 3, "100 of reports/2024, the 30 left and reports/2024/, then reports/2025"
    for key in mine:
        shown = key.removeprefix("reports/").split("/")[0]
        assert shown in text, key
    assert "2023.csv" not in text and "2026.csv" not in text and "nope.csv" not in text
    filtered = "".join(
        _walk(client, url("object_list", endpoint, bucket, prefix="reports/", filter="2025"), htmx=False)
    )
    assert "2025-000.csv" in filtered and "2025-x/" in filtered and "2024-" not in filtered


def test_a_404_says_why_only_when_the_console_wrote_the_reason(scoped, endpoint):
    client, bucket = scoped
    unknown_url = client.get("/no-such-page/")
    assert unknown_url.status_code == 404
    assert "There is nothing here, or it is not visible to you." in unknown_url.content.decode()
    assert "Resolver404" not in unknown_url.content.decode()
    no_such_row = client.get(reverse("audit_detail", args=[10**9]))
    assert no_such_row.status_code == 404
    assert "matches the given query" not in no_such_row.content.decode()
    no_key = client.get(url("object_detail", endpoint, bucket))
    assert no_key.status_code == 404
    assert "No object key given." in no_key.content.decode()
    stale = client.get(url("object_list", endpoint, bucket, prefix="team-a/", token="stale"), HTTP_HX_REQUEST="true")
    assert stale.status_code == 404 and stale["HX-Retarget"] == "#flash"  # where the user is looking
    assert "This page link is not valid (any more)" in stale.content.decode()
