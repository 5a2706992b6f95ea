"""The object list's "Show versions" toggle: every version and delete marker of a folder, one ListObjectVersions
call a page, undelete from the list, roles and prefix scopes, awkward keys."""

from __future__ import annotations

import html
import re

from django.test import Client

from buckets import s3
from buckets.forms.transfer import decode_key
from console.models import AuditEvent, Role, RoleAssignment
from tests.objects_fixtures import fast_client, link, links, put_many, query_of, url


def _version_rows(page: str) -> list[dict]:
    """Each version row: key (from its link), version id (full, from the title), badges, undelete button."""
    rows = []
    for row in re.findall(r'<tr class="version[^"]*">(.*?)</tr>', page, re.S):
        href = html.unescape(re.search(r'href="([^"]*)"', row).group(1))
        rows.append(
            {
                "key": query_of(href)["key"],
                "href": href,
                "version_id": html.unescape(re.search(r'<td class="mono nowrap" title="([^"]*)"', row).group(1)),
                "latest": ">latest</span>" in row,
                "marker": ">delete marker</span>" in row,
                "undelete": "Undelete</button>" in row,
            }
        )
    return rows


def _seed(client, bucket: str) -> dict:
    """docs/report.txt with 3 versions, docs/gone.txt deleted (a marker on top), a sub-folder, a key elsewhere."""
    ids = [client.put_object(Bucket=bucket, Key="docs/report.txt", Body=b"v" * n)["VersionId"] for n in (1, 2, 3)]
    client.put_object(Bucket=bucket, Key="docs/gone.txt", Body=b"gone")
    marker = client.delete_object(Bucket=bucket, Key="docs/gone.txt")["VersionId"]
    client.put_object(Bucket=bucket, Key="docs/sub/inner.txt", Body=b"i")
    client.put_object(Bucket=bucket, Key="other.txt", Body=b"o")
    return {"report": ids, "marker": marker}


def test_versions_view_lists_every_version_and_undeletes(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("verlist", versioned=True)
    seeded = _seed(s3client, bucket)

    plain = operator_client.get(url("object_list", endpoint, bucket, prefix="docs/")).content.decode()
    assert "gone.txt" not in plain and 'id="show-versions"' in plain
    assert not re.search(r'name="versions" value="1" checked', plain)

    s3.CALL_COUNTS.clear()
    answer = operator_client.get(url("object_list", endpoint, bucket, prefix="docs/", versions="1"))
    assert answer.status_code == 200 and dict(s3.CALL_COUNTS) == {"ListObjectVersions": 1}
    page = answer.content.decode()
    rows = _version_rows(page)
    assert [(r["key"], r["latest"], r["marker"]) for r in rows] == [
        ("docs/gone.txt", True, True),
        ("docs/gone.txt", False, False),
        ("docs/report.txt", True, False),
        ("docs/report.txt", False, False),
        ("docs/report.txt", False, False),
    ]
    assert {r["version_id"] for r in rows if r["key"] == "docs/report.txt"} == set(seeded["report"])
    assert rows[2]["version_id"] == seeded["report"][-1]  # the latest is the last written
    assert rows[0]["version_id"] == seeded["marker"] and rows[0]["undelete"]
    assert [r["undelete"] for r in rows] == [True, False, False, False, False]
    # Version rows open the object page at that version; the marker opens the key's history.
    assert query_of(rows[2]["href"]) == {"key": "docs/report.txt", "version_id": seeded["report"][-1]}
    assert rows[2]["href"].startswith(url("object_detail", endpoint, bucket))
    assert rows[0]["href"] == url("object_versions", endpoint, bucket, key="docs/gone.txt")
    # The version id is shortened in the cell, full in its title.
    assert f">{seeded['report'][0][:4]}…{seeded['report'][0][-6:]}</td>" in page
    # Sub-folders are listed and keep the toggle; the toggle is checked; "other.txt" (another folder) is absent.
    folder_href = html.unescape(re.search(r'<tr class="folder">.*?href="([^"]*)"', page, re.S).group(1))
    assert query_of(folder_href) == {"prefix": "docs/sub/", "versions": "1"}
    assert re.search(r'name="versions" value="1" checked', page) and "other.txt" not in page

    # Undelete from the list: back on the same list, the marker is gone and the object is listed again.
    form_next = html.unescape(re.search(r'name="next" value="([^"]*)"', page).group(1))
    done = operator_client.post(
        url("object_undelete", endpoint, bucket),
        {"key": "docs/gone.txt", "version_id": seeded["marker"], "next": form_next},
    )
    assert done.status_code == 302 and done["Location"] == form_next
    assert query_of(form_next) == {"prefix": "docs/", "versions": "1"}
    assert s3client.get_object(Bucket=bucket, Key="docs/gone.txt")["Body"].read() == b"gone"
    event = AuditEvent.objects.get(action="object.undelete")
    assert (event.outcome, event.key, event.version_id) == ("ok", "docs/gone.txt", seeded["marker"])
    plain = operator_client.get(url("object_list", endpoint, bucket, prefix="docs/")).content.decode()
    assert "gone.txt" in plain
    after = _version_rows(operator_client.get(form_next).content.decode())
    assert [(r["key"], r["latest"], r["marker"]) for r in after if r["key"] == "docs/gone.txt"] == [
        ("docs/gone.txt", True, False)
    ]
    # A "next" that leaves the site is ignored: back to the key's versions page.
    s3client.delete_object(Bucket=bucket, Key="docs/gone.txt")
    again = _version_rows(operator_client.get(form_next).content.decode())[0]
    away = operator_client.post(
        url("object_undelete", endpoint, bucket),
        {"key": "docs/gone.txt", "version_id": again["version_id"], "next": "//evil.example/x"},
    )
    assert away["Location"] == url("object_versions", endpoint, bucket, key="docs/gone.txt")


def test_viewer_sees_no_undelete_and_is_refused(viewer_client, endpoint, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("verview", versioned=True)
    seeded = _seed(s3client, bucket)
    page = viewer_client.get(url("object_list", endpoint, bucket, prefix="docs/", versions="1"), **htmx_headers)
    body = page.content.decode()
    assert body.lstrip().startswith('<div id="object-table"') and "<html" not in body  # the htmx partial
    rows = _version_rows(body)
    assert len(rows) == 5 and not any(r["undelete"] for r in rows) and "Undelete" not in body
    refused = viewer_client.post(
        url("object_undelete", endpoint, bucket), {"key": "docs/gone.txt", "version_id": seeded["marker"]}
    )
    assert refused.status_code == 403
    assert s3client.list_object_versions(Bucket=bucket, Prefix="docs/gone.txt")["DeleteMarkers"][0]["IsLatest"]
    assert AuditEvent.objects.filter(action="object.undelete", outcome="denied").count() == 1


def test_paging_one_call_a_page(admin_client, endpoint, seaweed, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("verpage", versioned=True)
    client = fast_client(seaweed)
    keys = [f"many/k-{i:03d}.txt" for i in range(120)]
    put_many(client, bucket, keys)
    put_many(client, bucket, keys[:30])  # 30 keys with a second version: 150 versions in all
    client.put_object(Bucket=bucket, Key="many/zz/inner.txt", Body=b"x")

    seen: list[tuple[str, str]] = []
    next_url = url("object_list", endpoint, bucket, prefix="many/", versions="1")
    pages = 0
    while next_url:
        s3.CALL_COUNTS.clear()
        page = admin_client.get(next_url, **(htmx_headers if pages else {})).content.decode()
        assert dict(s3.CALL_COUNTS) == {"ListObjectVersions": 1}
        rows = _version_rows(page)
        assert len(rows) <= 100
        seen += [(r["key"], r["version_id"]) for r in rows]
        if pages:
            assert query_of(link(page, "First page")) == {"prefix": "many/", "versions": "1"}
        next_url = link(page, "Next page") if "Next page" in page else ""
        if next_url:
            # the position is sealed: no key name in the link (SeaweedFS markers are key names)
            assert {"token", "versions"} <= set(query_of(next_url)) and "many/" not in query_of(next_url)["token"]
        pages += 1
    assert pages == 2
    assert len(seen) == 150 and len(set(seen)) == 150  # every version once, none twice
    assert [k for k, _ in seen] == sorted(k for k, _ in seen)  # in key order
    assert "zz/" in page  # the sub-folder
    # A bigger page size is kept by the links and fits everything in one call.
    s3.CALL_COUNTS.clear()
    whole = admin_client.get(url("object_list", endpoint, bucket, prefix="many/", versions="1", size=250))
    assert len(_version_rows(whole.content.decode())) == 150 and "Next page" not in whole.content.decode()
    assert dict(s3.CALL_COUNTS) == {"ListObjectVersions": 1}


def test_unversioned_bucket_shows_null_versions(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("vernull")
    s3client.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    rows = _version_rows(admin_client.get(url("object_list", endpoint, bucket, versions="1")).content.decode())
    assert [(r["key"], r["version_id"], r["latest"], r["marker"]) for r in rows] == [("a.txt", "null", True, False)]


def test_the_toggle_swaps_the_selection_bar_with_the_table(admin_client, endpoint, s3client, make_bucket, htmx_headers):
    """The versions view has no selection: toggled by htmx (no page load), the bar goes and comes back."""
    bucket = make_bucket("verbar")
    s3client.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    versions = admin_client.get(url("object_list", endpoint, bucket, versions="1"), **htmx_headers).content.decode()
    objects = admin_client.get(url("object_list", endpoint, bucket), **htmx_headers).content.decode()
    for fragment in (versions, objects):
        assert fragment.lstrip().startswith('<div id="object-table"') and fragment.count('id="object-actions"') == 1
    assert "data-selection-count" not in versions and "data-selection-count" in objects


def test_prefix_scoped_user_sees_only_their_prefix(endpoint, s3client, make_bucket, django_user_model):
    bucket = make_bucket("verscope", versioned=True)
    for key in ["team/a.txt", "team/b.txt", "secret.txt", "teamwork.txt", "other/x.txt"]:
        s3client.put_object(Bucket=bucket, Key=key, Body=b"1")
        s3client.put_object(Bucket=bucket, Key=key, Body=b"2")
    s3client.delete_object(Bucket=bucket, Key="team/b.txt")
    s3client.delete_object(Bucket=bucket, Key="secret.txt")
    user = django_user_model.objects.create_user(username="scoped", password="pw-scoped-123456")
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint, bucket=bucket, prefix="team/")
    client = Client()
    client.force_login(user)

    top = client.get(url("object_list", endpoint, bucket, versions="1")).content.decode()
    assert _version_rows(top) == [] and "team/" in top
    assert "secret.txt" not in top and "teamwork.txt" not in top and "other/" not in top

    inside = client.get(url("object_list", endpoint, bucket, prefix="team/", versions="1")).content.decode()
    rows = _version_rows(inside)
    assert {r["key"] for r in rows} == {"team/a.txt", "team/b.txt"} and len(rows) == 5
    assert [r["undelete"] for r in rows if r["marker"]] == [True]  # an operator inside the prefix
    assert client.get(url("object_list", endpoint, bucket, prefix="other/", versions="1")).status_code == 403


def test_awkward_keys_escaped_and_linked(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("verodd", versioned=True)
    keys = ["odd/<script>alert(1).html", "odd/ünïcödé 日本語.txt", "odd/a&b #c?d=e.txt"]
    for key in keys:
        s3client.put_object(Bucket=bucket, Key=key, Body=b"1")
        s3client.put_object(Bucket=bucket, Key=key, Body=b"22")
    s3client.delete_object(Bucket=bucket, Key=keys[0])
    page = admin_client.get(url("object_list", endpoint, bucket, prefix="odd/", versions="1")).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1).html" in page  # ("/" would make a folder)
    rows = _version_rows(page)
    assert sorted({r["key"] for r in rows}) == sorted(keys) and len(rows) == 7
    for row in rows:
        if not row["marker"]:
            shown = admin_client.get(row["href"])
            assert shown.status_code == 200, row
    marker = next(r for r in rows if r["marker"])
    assert marker["key"] == keys[0] and marker["undelete"]
    hidden_keys = [decode_key(k) for k in re.findall(r'<input type="hidden" name="key_b64" value="([^"]*)">', page)]
    assert keys[0] in hidden_keys
    assert all(r["href"].startswith(f"/b/{endpoint.pk}/{bucket}/") for r in rows)
    assert not [h for h in links(page) if "odd/<" in h.split("?")[0]]  # keys only in query strings
