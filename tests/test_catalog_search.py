"""Search and analytics pages over a crawled SeaweedFS bucket: substring anywhere in the key, filters,
keyset pages, scopes respected exactly (results and counts), the stale/absent index, analytics numbers
equal to a full listing's sums, folder drill-down, aborting old incomplete uploads.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection  # noqa: F401 - the skipif condition
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from buckets.forms.transfer import decode_key
from catalog.models import IndexedBucket
from catalog.services import analytics, index, search
from console import audit
from console.models import AuditEvent, Role, RoleAssignment
from tests.objects_fixtures import fast_client

pytestmark = pytest.mark.django_db
ACTOR = audit.Actor(user_id=None, username="tester", role="admin")
KEYS = {
    "team-a/reports/2026 Q1 report.pdf": 5000,
    "team-a/reports/draft_report.txt": 40,
    "team-a/img/logo.png": 800,
    "team-b/report-secret.pdf": 7000,
    "team-b/notes.txt": 12,
    "readme.md": 5,
    "100% real_report.csv": 60,
}


@pytest.fixture(autouse=True)
def unthrottled(settings):
    settings.INDEX_REQUESTS_PER_SECOND = 0


@pytest.fixture
def indexed(endpoint, make_bucket, seaweed):
    bucket = make_bucket("srch")
    client = fast_client(seaweed)
    for key, size in KEYS.items():
        client.put_object(Bucket=bucket, Key=key, Body=b"r" * size, StorageClass="STANDARD")
    client.put_object(Bucket=bucket, Key="team-a/cold/archive.bin", Body=b"c" * 300, StorageClass="STANDARD_IA")
    indexed, _ = index.index_enable(actor=ACTOR, endpoint=endpoint, bucket=bucket)
    indexed.refresh_from_db()
    return indexed


def scoped_user(django_user_model, endpoint, bucket: str, prefix: str):
    user = django_user_model.objects.create_user(username="pam", password="pw-pam-123456")
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint, bucket=bucket, prefix=prefix)
    client = Client()
    client.force_login(user)
    return user, client


def result_keys(html: str) -> list[str]:
    return [decode_key(v) for v in re.findall(r'name="key_b64" value="([^"]+)"', html)]


def search_url(indexed, **query) -> str:
    base = reverse("catalog_search", args=[indexed.endpoint.pk, indexed.bucket])
    from urllib.parse import urlencode

    return f"{base}?{urlencode(query)}"


def test_a_substring_anywhere_in_the_key_across_the_bucket(indexed, admin_client):
    page = admin_client.get(search_url(indexed, q="report")).content.decode()
    assert result_keys(page) == sorted(k for k in KEYS if "report" in k.lower())
    assert "4 objects match" in page
    # LIKE's own characters are plain characters here
    assert result_keys(admin_client.get(search_url(indexed, q="100%")).content.decode()) == ["100% real_report.csv"]
    assert result_keys(admin_client.get(search_url(indexed, q="t_r")).content.decode()) == [
        "team-a/reports/draft_report.txt"
    ]
    # case-insensitive, short terms too
    assert result_keys(admin_client.get(search_url(indexed, q="PNG")).content.decode()) == ["team-a/img/logo.png"]


def test_filters_size_date_and_storage_class(indexed, admin_client):
    big = result_keys(admin_client.get(search_url(indexed, min_size="1 KB")).content.decode())
    assert big == ["team-a/reports/2026 Q1 report.pdf", "team-b/report-secret.pdf"]
    small = result_keys(admin_client.get(search_url(indexed, q="t", max_size="50")).content.decode())
    assert small == ["team-a/reports/draft_report.txt", "team-b/notes.txt"]
    cold = result_keys(admin_client.get(search_url(indexed, storage_class="STANDARD_IA")).content.decode())
    assert cold == ["team-a/cold/archive.bin"]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert result_keys(admin_client.get(search_url(indexed, after=tomorrow)).content.decode()) == []
    assert admin_client.get(search_url(indexed, min_size="lots")).status_code == 200  # a form error, said so


def test_keyset_pages_cover_every_match_once(indexed, admin_client, monkeypatch):
    monkeypatch.setattr(search, "PAGE", 2)
    seen, url, pages = [], search_url(indexed, q="e"), 0
    while url:
        page = admin_client.get(url).content.decode()
        seen += result_keys(page)
        found = re.search(r'href="([^"]+)"[^>]*>Next page', page)
        url = found and found.group(1).replace("&amp;", "&")
        pages += 1
    assert pages == 4  # 8 matches, 2 a page (the last "Next page" leads to an empty one)
    assert seen == sorted(k for k in [*KEYS, "team-a/cold/archive.bin"] if "e" in k.lower())


def test_a_next_page_link_is_good_for_its_own_search_only(indexed, admin_client, monkeypatch):
    monkeypatch.setattr(search, "PAGE", 2)
    first = admin_client.get(search_url(indexed, q="e")).content.decode()
    after = re.search(r'href="[^"]*(?:\?|&amp;)cursor=([^"&]+)[^"]*"[^>]*>Next page', first).group(1)
    own = admin_client.get(search_url(indexed, q="e") + f"&cursor={after}").content.decode()
    assert result_keys(own) and not set(result_keys(own)) & set(result_keys(first))
    # The same cursor on another search would skip that search's first results: its first page instead.
    other = admin_client.get(search_url(indexed, q="t") + f"&cursor={after}").content.decode()
    assert "belongs to another search" in other
    assert result_keys(other) == sorted(k for k in [*KEYS, "team-a/cold/archive.bin"] if "t" in k.lower())[:2]
    # With the date filter ("after", "Modified from") the next page still follows on.
    dated = admin_client.get(search_url(indexed, q="e", after="2000-01-01")).content.decode()
    onward = re.search(r'href="([^"]+)"[^>]*>Next page', dated).group(1).replace("&amp;", "&")
    assert "after=2000-01-01" in onward
    assert result_keys(admin_client.get(onward).content.decode()) == result_keys(own)
    forged = admin_client.get(search_url(indexed, q="e", cursor="zzzz")).content.decode()
    assert result_keys(forged) == result_keys(first)


def test_a_prefix_scoped_user_never_sees_other_keys_in_results_or_counts(indexed, django_user_model):
    user, client = scoped_user(django_user_model, indexed.endpoint, indexed.bucket, "team-a/")
    page = client.get(search_url(indexed, q="report")).content.decode()
    assert result_keys(page) == ["team-a/reports/2026 Q1 report.pdf", "team-a/reports/draft_report.txt"]
    assert "2 objects match" in page and "secret" not in page
    pages = list(search.search_keys(user=user, endpoint=indexed.endpoint, bucket=indexed.bucket, term="report"))
    assert pages == [["team-a/reports/2026 Q1 report.pdf", "team-a/reports/draft_report.txt"]]
    analytics_page = client.get(reverse("catalog_analytics", args=[indexed.endpoint.pk, indexed.bucket])).content
    assert b"team-b" not in analytics_page and b"secret" not in analytics_page and b"readme" not in analytics_page
    rep = analytics.report(indexed, ["team-a/"], "")
    assert (rep.count, rep.bytes) == (4, 5000 + 40 + 800 + 300)


def test_ticked_results_from_several_folders_are_deleted_from_the_search_page(indexed, operator_client, seaweed):
    """The search page's bar acts on the ticked results (the object list's selection views, prefix "")."""
    page = operator_client.get(search_url(indexed, q="report")).content.decode()
    assert 'id="object-actions"' in page and ">Delete…</button>" in page and ">More actions…</button>" in page
    assert re.search(r'data-select-all="key_b64"', page)
    ticked = {"prefix": "", "key_b64": re.findall(r'name="key_b64" value="([^"]+)"', page)[:2]}
    chosen = [decode_key(v) for v in ticked["key_b64"]]
    assert chosen == ["100% real_report.csv", "team-a/reports/2026 Q1 report.pdf"]  # two folders
    where = [indexed.endpoint.pk, indexed.bucket]
    review = operator_client.post(reverse("selection_delete_review", args=where), ticked)
    assert review.status_code == 200 and all(k in review.content.decode() for k in chosen)
    done = operator_client.post(
        reverse("selection_delete", args=[indexed.endpoint.pk, indexed.bucket]), {"prefix": "", "key": chosen}
    )
    assert done.status_code == 302
    left = {o["Key"] for o in seaweed.client().list_objects_v2(Bucket=indexed.bucket).get("Contents", [])}
    assert not set(chosen) & left and "team-a/reports/draft_report.txt" in left
    assert AuditEvent.objects.filter(action="object.delete", outcome="ok").count() >= 1


def test_a_viewer_who_writes_nowhere_gets_results_without_checkboxes(indexed, viewer_client):
    page = viewer_client.get(search_url(indexed, q="report")).content.decode()
    assert "4 objects match" in page and "2026 Q1 report.pdf" in page
    assert 'type="checkbox"' not in page.split('id="results"')[1] and 'id="object-actions"' not in page


def test_search_keys_yields_pages_and_nothing_without_a_role(indexed, admin_user, nobody_user):
    pages = list(
        search.search_keys(user=admin_user, endpoint=indexed.endpoint, bucket=indexed.bucket, page_size=2, term="a")
    )
    assert [len(p) for p in pages][:-1] == [2] * (len(pages) - 1)
    assert sum(pages, []) == sorted(k for k in [*KEYS, "team-a/cold/archive.bin"] if "a" in k.lower())
    assert list(search.search_keys(user=nobody_user, endpoint=indexed.endpoint, bucket=indexed.bucket, term="a")) == []


def test_absent_and_stale_indexes_say_so_and_offer_the_prefix_listing(indexed, admin_client, make_bucket):
    other = make_bucket("noidx")
    page = admin_client.get(reverse("catalog_search", args=[indexed.endpoint.pk, other]) + "?q=x").content.decode()
    assert "has no index yet" in page and reverse("object_list", args=[indexed.endpoint.pk, other]) in page
    IndexedBucket.objects.filter(pk=indexed.pk).update(indexed_at=timezone.now() - timedelta(days=30))
    page = admin_client.get(search_url(indexed, q="x")).content.decode()
    assert "changes made outside the console since then are missing" in page


def test_analytics_numbers_equal_a_full_listing_s_sums(indexed, admin_client, s3client):
    listed = [o for p in s3client.get_paginator("list_objects_v2").paginate(Bucket=indexed.bucket)
              for o in p.get("Contents", [])]  # fmt: skip
    rep = analytics.report(indexed, None, "")
    assert (rep.count, rep.bytes) == (len(listed), sum(o["Size"] for o in listed))
    folders = {f.prefix: (f.count, f.bytes) for f in rep.folders}
    for prefix, (count, size) in folders.items():
        under = [o for o in listed if o["Key"].startswith(prefix)]
        assert (count, size) == (len(under), sum(o["Size"] for o in under))
    direct = [o for o in listed if "/" not in o["Key"]]
    assert (rep.here_count, rep.here_bytes) == (len(direct), sum(o["Size"] for o in direct))
    classes = {c["storage_class"]: c["bytes"] for c in rep.classes}
    assert classes == {"STANDARD_IA": 300, "STANDARD": sum(KEYS.values())}
    assert rep.largest[0].key == "team-b/report-secret.pdf"
    page = admin_client.get(reverse("catalog_analytics", args=[indexed.endpoint.pk, indexed.bucket])).content.decode()
    assert '<svg class="bar"' in page and "team-a/" in page
    drill = admin_client.get(
        reverse("catalog_analytics", args=[indexed.endpoint.pk, indexed.bucket]) + "?prefix=team-a/"
    ).content.decode()
    assert "reports/" in drill and "team-b" not in drill


def test_analytics_reads_precomputed_sums_in_a_few_queries(indexed, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        analytics.report(indexed, None, "")


def test_the_endpoint_page_totals_the_buckets_seen_whole(indexed, admin_client):
    page = admin_client.get(reverse("catalog_endpoint", args=[indexed.endpoint.pk])).content.decode()
    assert indexed.bucket in page and "Indexed buckets" in page


def test_sizes_for_the_bucket_list_and_the_folder_list(indexed):
    from buckets.models import Bucket

    Bucket.objects.create(endpoint=indexed.endpoint, name=indexed.bucket)
    Bucket.objects.create(endpoint=indexed.endpoint, name="never-indexed")
    sizes = {b.name: b for b in analytics.with_bucket_sizes(Bucket.objects.filter(endpoint=indexed.endpoint))}
    assert sizes[indexed.bucket].ix_count == len(KEYS) + 1 and sizes[indexed.bucket].ix_at is not None
    assert sizes["never-indexed"].ix_count is None and sizes["never-indexed"].ix_at is None
    folders = analytics.folder_sizes(indexed.endpoint, indexed.bucket, ["team-a/", "team-b/"], ["team-a/"])
    assert folders == {"team-a/": {"count": 4, "bytes": 6140, "newest": folders["team-a/"]["newest"]}}


def test_old_incomplete_uploads_are_aborted_in_one_audited_change(indexed, operator_client, seaweed):
    client = fast_client(seaweed)
    ids = [client.create_multipart_upload(Bucket=indexed.bucket, Key=f"up/{i}")["UploadId"] for i in range(3)]
    url = reverse("catalog_uploads_abort_old", args=[indexed.endpoint.pk, indexed.bucket])
    assert operator_client.post(url, {"days": "30"}).status_code == 302
    assert len(client.list_multipart_uploads(Bucket=indexed.bucket).get("Uploads", [])) == 3  # none that old
    assert operator_client.post(url, {"days": "0"}).status_code == 302
    assert client.list_multipart_uploads(Bucket=indexed.bucket).get("Uploads", []) == []
    events = AuditEvent.objects.filter(action="multipart.abort_old").order_by("pk")
    assert [e.after["aborted"] for e in events] == [0, 3] and ids


def test_the_folder_list_shows_folder_sizes_from_a_fresh_index_and_sorts(indexed, admin_client):
    url = reverse("object_list", args=[indexed.endpoint.pk, indexed.bucket])
    page = admin_client.get(url).content.decode()
    assert 'title="4 objects, 6140 bytes (from the index)"' in page and "6.0\xa0KiB" in page
    by_size = admin_client.get(url + "?sort=size").content.decode()
    assert by_size.index("team-b/") < by_size.index("team-a/")  # 7,012 bytes before 6,140
    by_name = admin_client.get(url).content.decode()
    assert by_name.index("team-a/") < by_name.index("team-b/")
    IndexedBucket.objects.filter(pk=indexed.pk).update(indexed_at=timezone.now() - timedelta(days=30))
    assert "(from the index)" not in admin_client.get(url).content.decode()  # stale: no sizes


def test_the_bucket_list_shows_size_and_count_from_the_index(indexed, admin_client):
    from buckets.models import Bucket

    Bucket.objects.create(endpoint=indexed.endpoint, name=indexed.bucket)
    page = admin_client.get(reverse("bucket_list")).content.decode()
    link = reverse("catalog_analytics", args=[indexed.endpoint.pk, indexed.bucket])
    assert f'<a href="{link}"' in page and ">8</a>" in page


def test_the_bucket_list_sizes_the_rows_of_later_pages(indexed, admin_client):
    """The page is chosen before the sizes are looked up: a second page's indexed bucket shows its size,
    in the page's order, with the endpoint filter (ordered by name alone) and without it."""
    from buckets.models import Bucket

    names = [f"{indexed.bucket[:1]}{i:03d}" for i in range(120)] + [indexed.bucket]
    Bucket.objects.bulk_create([Bucket(endpoint=indexed.endpoint, name=name) for name in names])
    shown = sorted(names)[100:]
    assert indexed.bucket in shown, "the fixture's bucket sorts onto the second page"
    link = reverse("catalog_analytics", args=[indexed.endpoint.pk, indexed.bucket])
    for query in ({"page": 2}, {"page": 2, "endpoint": indexed.endpoint.pk}):
        page = admin_client.get(reverse("bucket_list"), query).content.decode()
        listed = re.findall(r'<td class="break"><strong><a href="[^"]*">([^<]*)</a>', page)
        assert listed == shown and f'<a href="{link}"' in page and ">8</a>" in page


def test_many_old_uploads_are_aborted_by_a_job(indexed, operator_client, seaweed, settings):
    from buckets.models import Job

    settings.INDEX_ABORT_INLINE = 1
    client = fast_client(seaweed)
    for i in range(3):
        client.create_multipart_upload(Bucket=indexed.bucket, Key=f"many/{i}")
    url = reverse("catalog_uploads_abort_old", args=[indexed.endpoint.pk, indexed.bucket])
    response = operator_client.post(url, {"days": "0"})
    job = Job.objects.get(kind="multipart.abort_old")
    assert response.url == reverse("job_detail", args=[job.pk])
    assert job.status == Job.Status.DONE and job.done == 3, job.message
    assert client.list_multipart_uploads(Bucket=indexed.bucket).get("Uploads", []) == []
    actions = list(AuditEvent.objects.filter(action__startswith="multipart.abort_old").values_list("action", flat=True))
    assert sorted(actions) == ["multipart.abort_old", "multipart.abort_old.start"]


def test_bulk_jobs_keep_the_index_in_step(indexed, admin_client):
    """A bulk storage-class change and a bulk delete move the index's sums: no crawl needed."""
    from buckets.models import Job
    from catalog.models import Entry

    def start(**data):
        data = {"source": "prefix", "rate": "0", **data}
        response = admin_client.post(reverse("bulk_start", args=[indexed.endpoint.pk, indexed.bucket]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        job = Job.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
        assert job.status == Job.Status.DONE, job.message

    start(prefix="team-a/reports/", action="storage_class", storage_class="STANDARD_IA")
    classes = dict(
        Entry.objects.filter(indexed=indexed, key__startswith="team-a/reports/").values_list("key", "storage_class")
    )
    assert set(classes.values()) == {"STANDARD_IA"} and len(classes) == 2
    start(prefix="team-b/", action="delete", confirm=indexed.bucket)
    assert not Entry.objects.filter(indexed=indexed, key__startswith="team-b/").exists()
    page = admin_client.get(reverse("catalog_analytics", args=[indexed.endpoint.pk, indexed.bucket])).content.decode()
    assert "team-b/" not in page


@pytest.mark.parametrize("name", ["catalog_index", "catalog_search", "catalog_analytics"])
def test_a_catalog_page_keeps_its_heading_in_the_body_once(name, indexed, admin_client):
    response = admin_client.get(reverse(name, args=[indexed.endpoint.pk, indexed.bucket]))
    assert response.status_code == 200
    html = response.content.decode()
    head = html[html.index("<head>") : html.index("</head>")]
    assert 'class="page-head' not in head and "<h1" not in head  # base.html's head block is for <head> only
    assert html.count("<h1") == 1 and html.index("<h1") > html.index("<main")


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's FTS5 path")
def test_on_sqlite_a_rare_term_is_read_by_id_and_a_common_one_along_the_key_index(indexed, monkeypatch):
    rare = search.matching(indexed, None, search.Filters(term="cold/arch")).order_by("key")[:51]
    plan = rare.explain()
    # Read by id, not along the (indexed, key) index: at 1,000,000 rows 0.1 ms instead of 100+ (bench_index.py).
    assert "PRIMARY KEY" in plan and "catalog_entry_once" not in plan, plan
    assert [e.key for e in rare] == ["team-a/cold/archive.bin"]
    monkeypatch.setattr(search, "FTS_FEW", 0)  # as if the term were everywhere
    common = search.matching(indexed, None, search.Filters(term="cold/arch")).order_by("key")[:51]
    assert "LIKE" in str(common.query) and [e.key for e in common] == ["team-a/cold/archive.bin"]
