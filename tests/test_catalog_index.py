"""The bucket index against the real SeaweedFS: a crawl, its sums against a full listing, the console's own
changes followed without a crawl, a re-crawl that finds outside changes, the commands, the throttle.

Jobs run in the request here (the immediate task backend); the real worker killed mid-crawl is in
test_catalog_recovery.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command

from buckets import s3
from buckets.models import Job
from buckets.services import transfer
from catalog.models import ClassStat, Entry, IndexedBucket, OutsideChange, PrefixStat, Snapshot
from catalog.services import crawl, follow, index, stats
from console import audit
from console.models import AuditEvent
from tests.objects_fixtures import fast_client, put_many

pytestmark = pytest.mark.django_db
ACTOR = audit.Actor(user_id=None, username="tester", role="admin")


@pytest.fixture(autouse=True)
def unthrottled(settings):
    settings.INDEX_REQUESTS_PER_SECOND = 0


def seed(seaweed, bucket: str) -> dict[str, int]:
    """Objects of several sizes in nested folders (and at the root); returns {key: size}."""
    sizes = {}
    for i in range(12):
        sizes[f"logs/2026/{i:02d}/app.log"] = 100 + i
    for i in range(5):
        sizes[f"logs/readme-{i}.txt"] = 7 * (i + 1)
    for i in range(6):
        sizes[f"media/photo {i}.jpg"] = 1000 * (i + 1)
    sizes["top.txt"] = 3
    client = fast_client(seaweed)
    for key, size in sizes.items():
        client.put_object(Bucket=bucket, Key=key, Body=b"z" * size)
    return sizes


def listing_sums(client, bucket: str) -> dict[str, list[int]]:
    """What a full ListObjectsV2 pass says: {prefix: [count, bytes]} for every folder level."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            for prefix in stats.prefixes_of(o["Key"]):
                sums[prefix][0] += 1
                sums[prefix][1] += o["Size"]
    return dict(sums)


def current_sums(indexed: IndexedBucket) -> dict[str, list[int]]:
    indexed.refresh_from_db()
    rows = PrefixStat.objects.filter(indexed=indexed, generation=indexed.stats_generation)
    return {r.prefix: [r.count, r.bytes] for r in rows}


@pytest.fixture
def crawled(endpoint, make_bucket, seaweed):
    bucket = make_bucket("idx")
    sizes = seed(seaweed, bucket)
    indexed, job = index.index_enable(actor=ACTOR, endpoint=endpoint, bucket=bucket)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    indexed.refresh_from_db()
    return indexed, sizes


def test_a_crawl_indexes_every_key_and_its_sums_equal_a_full_listing(crawled, s3client):
    indexed, sizes = crawled
    assert indexed.state == IndexedBucket.State.FRESH and indexed.indexed_at is not None
    assert dict(Entry.objects.filter(indexed=indexed).values_list("key", "size")) == sizes
    assert current_sums(indexed) == listing_sums(s3client, indexed.bucket)
    assert (indexed.object_count, indexed.total_bytes) == (len(sizes), sum(sizes.values()))
    assert current_sums(indexed)["logs/2026/"] == [12, sum(100 + i for i in range(12))]
    (standard,) = ClassStat.objects.filter(indexed=indexed, generation=indexed.stats_generation, top="media/")
    assert (standard.storage_class, standard.count, standard.bytes) == ("STANDARD", 6, 21000)
    assert Snapshot.objects.filter(indexed=indexed).count() == 1
    start, outcome = AuditEvent.objects.filter(action__startswith="index.crawl").order_by("pk")
    assert (start.action, outcome.action, outcome.outcome) == ("index.crawl.start", "index.crawl", "ok")


def test_a_crawl_pages_the_bucket_and_checkpoints_after_each_page(crawled, monkeypatch):
    indexed, sizes = crawled
    monkeypatch.setattr(crawl, "PAGE_KEYS", 5)
    before = s3.CALL_COUNTS["ListObjectsV2"]
    job = crawl.index_crawl_start(actor=ACTOR, indexed=indexed)
    job.refresh_from_db()
    pages = -(-len(sizes) // 5)
    assert s3.CALL_COUNTS["ListObjectsV2"] - before == pages
    assert job.checkpoint["state"]["after"] == max(sizes) and job.done == len(sizes)
    assert Entry.objects.filter(indexed=indexed).count() == len(sizes)


def test_a_resumed_crawl_starts_after_its_checkpoint(crawled, monkeypatch):
    """The in-process half of resuming: the run that takes over lists from the last key it saved."""
    indexed, sizes = crawled
    monkeypatch.setattr(crawl, "PAGE_KEYS", 5)
    keys = sorted(sizes)
    seen_after = []
    real = s3.list_objects_page

    def spy(**kwargs):
        seen_after.append(kwargs.get("start_after", ""))
        return real(**kwargs)

    monkeypatch.setattr(s3, "list_objects_page", spy)
    job = Job.objects.create(
        kind=crawl.CRAWL, title="lost", endpoint=indexed.endpoint, bucket=indexed.bucket, attempts=1,
        actor_data=ACTOR.to_json(), task_path="catalog.tasks.index_crawl",
        checkpoint={"state": {"generation": indexed.generation + 1, "phase": "objects", "after": keys[9],
                              "changes": {}}, "counters": {"done": 10}},
    )  # fmt: skip
    IndexedBucket.objects.filter(pk=indexed.pk).update(generation=indexed.generation + 1)
    # What the lost run wrote before its checkpoint: the first ten keys, seen by its generation.
    Entry.objects.filter(indexed=indexed, key__in=keys[:10]).update(seen=indexed.generation + 1)
    from buckets import jobs

    jobs.run(str(job.pk), crawl.run_crawl)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 2
    assert seen_after[0] == keys[9]  # not from the start
    # Keys before the checkpoint were seen by the lost run's generation: none is dropped as "removed".
    assert Entry.objects.filter(indexed=indexed).count() == len(sizes)


def test_the_console_s_own_changes_reach_the_index_without_a_crawl(crawled, endpoint, s3client):
    indexed, sizes = crawled
    bucket = indexed.bucket
    lists = s3.CALL_COUNTS["ListObjectsV2"]
    transfer.object_copy(actor=ACTOR, endpoint=endpoint, source_bucket=bucket, source_key="top.txt",
                         bucket=bucket, key="copies/top.txt", overwrite=False)  # fmt: skip
    transfer.object_move(actor=ACTOR, endpoint=endpoint, source_bucket=bucket, source_key="media/photo 0.jpg",
                         bucket=bucket, key="archive/photo 0.jpg", overwrite=False)  # fmt: skip
    transfer.object_delete(actor=ACTOR, endpoint=endpoint, bucket=bucket, key="logs/readme-0.txt")
    transfer.objects_delete(
        actor=ACTOR, endpoint=endpoint, bucket=bucket, keys=["logs/readme-1.txt", "logs/readme-2.txt"]
    )
    keys = set(Entry.objects.filter(indexed=indexed).values_list("key", flat=True))
    assert {"copies/top.txt", "archive/photo 0.jpg"} <= keys
    assert not keys & {"media/photo 0.jpg", "logs/readme-0.txt", "logs/readme-1.txt", "logs/readme-2.txt"}
    assert keys == {o["Key"] for p in s3client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                    for o in p.get("Contents", [])}  # fmt: skip
    assert current_sums(indexed) == listing_sums(s3client, bucket)
    assert not Job.objects.filter(kind=crawl.CRAWL).exclude(pk=indexed.last_job_id).exists()  # no new crawl
    # The services list to check keys exist; none of those listings is a crawl of the bucket.
    assert s3.CALL_COUNTS["ListObjectsV2"] - lists < 20


def test_followed_changes_cost_a_bounded_number_of_queries_and_no_s3_call(crawled, django_assert_max_num_queries):
    indexed, _ = crawled
    calls = sum(s3.CALL_COUNTS.values())
    # bench/bench_index.py makes 1,000 such changes and counts the same; 300 keep this test short.
    with django_assert_max_num_queries(300 * 8 + 10):  # six statements and a savepoint pair a change
        for i in range(300):
            follow.object_stored(endpoint=indexed.endpoint, bucket=indexed.bucket, key=f"new/{i % 7}/f{i}", size=i)
    assert sum(s3.CALL_COUNTS.values()) == calls
    sums = current_sums(indexed)
    assert sums["new/"] == [300, sum(range(300))]
    assert sums[""][0] == indexed.object_count
    assert not Job.objects.filter(kind=crawl.CRAWL).exclude(pk=indexed.last_job_id).exists()


def test_a_bucket_that_is_not_indexed_costs_one_query_a_change(endpoint, django_assert_num_queries):
    with django_assert_num_queries(1):
        follow.object_stored(endpoint=endpoint, bucket="not-indexed", key="a", size=1)


def test_a_recrawl_counts_what_changed_outside_the_console_per_prefix(crawled, seaweed, s3client):
    indexed, sizes = crawled
    client = fast_client(seaweed)
    client.put_object(Bucket=indexed.bucket, Key="outside/new.bin", Body=b"12345")
    client.put_object(Bucket=indexed.bucket, Key="logs/2026/00/app.log", Body=b"changed elsewhere")
    client.delete_object(Bucket=indexed.bucket, Key="media/photo 5.jpg")
    crawl.start_due()  # not due yet: crawled a moment ago
    assert OutsideChange.objects.count() == 0
    IndexedBucket.objects.filter(pk=indexed.pk).update(indexed_at=indexed.indexed_at - crawl.timedelta(days=2))
    assert crawl.start_due() == 1  # what the scheduler's periodic task runs
    found = {c.prefix: (c.added, c.changed, c.removed) for c in OutsideChange.objects.filter(indexed=indexed)}
    assert found == {"outside/": (1, 0, 0), "logs/": (0, 1, 0), "media/": (0, 0, 1)}
    assert current_sums(indexed) == listing_sums(s3client, indexed.bucket)
    job = Job.objects.filter(kind=crawl.CRAWL).first()
    assert "1 added, 1 changed, 1 removed" in job.message and job.actor_data["username"] == "system:index-recrawl"


def test_the_periodic_tasks_are_registered_with_the_scheduler():
    from django.utils.module_loading import autodiscover_modules

    from console import scheduler

    autodiscover_modules("tasks")  # as console_scheduler does

    assert {"catalog.recrawl_due", "catalog.snapshots"} <= set(scheduler.SCHEDULES)


def test_an_emptied_bucket_empties_its_index_and_a_deleted_one_loses_it(crawled, endpoint):
    indexed, _ = crawled
    follow.bucket_emptied(endpoint=endpoint, bucket=indexed.bucket)
    assert not Entry.objects.filter(indexed=indexed).exists()
    indexed.refresh_from_db()
    assert (indexed.object_count, indexed.total_bytes) == (0, 0)
    follow.bucket_emptied(endpoint=endpoint, bucket=indexed.bucket, deleted=True)
    assert not IndexedBucket.objects.filter(pk=indexed.pk).exists()


def test_versions_and_incomplete_uploads_are_counted_when_asked(endpoint, make_bucket, seaweed):
    bucket = make_bucket("ver", versioned=True)
    client = fast_client(seaweed)
    client.put_object(Bucket=bucket, Key="doc.txt", Body=b"old-old")  # 7 bytes, noncurrent after the next PUT
    client.put_object(Bucket=bucket, Key="doc.txt", Body=b"new")
    client.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    client.delete_object(Bucket=bucket, Key="gone.txt")  # a delete marker; its version is noncurrent
    upload = client.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
    client.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"p" * 1000)
    indexed, job = index.index_enable(actor=ACTOR, endpoint=endpoint, bucket=bucket, with_versions=True)
    indexed.refresh_from_db()
    assert (indexed.noncurrent_count, indexed.noncurrent_bytes, indexed.delete_markers) == (2, 8, 1)
    assert (indexed.uploads_count, indexed.uploads_bytes) == (1, 1000)
    assert indexed.object_count == 1


def test_tags_and_metadata_are_indexed_when_enabled(endpoint, make_bucket, seaweed):
    bucket = make_bucket("det")
    client = fast_client(seaweed)
    client.put_object(Bucket=bucket, Key="a.txt", Body=b"a", Metadata={"team": "blue"}, Tagging="env=prod")
    client.put_object(Bucket=bucket, Key="b.txt", Body=b"b")
    heads = s3.CALL_COUNTS["HeadObject"]
    indexed, _ = index.index_enable(actor=ACTOR, endpoint=endpoint, bucket=bucket, with_details=True)
    assert s3.CALL_COUNTS["HeadObject"] - heads == 2  # one per object
    entry = Entry.objects.get(indexed=indexed, key="a.txt")
    assert entry.tags == "\nenv=prod\n" and entry.metadata == "\nteam=blue\n"


def test_manage_py_index_bucket_and_index_status(endpoint, make_bucket, seaweed):
    bucket = make_bucket("cmd")
    put_many(fast_client(seaweed), bucket, [f"k/{i}" for i in range(30)], b"abc")
    out = StringIO()
    call_command("index_bucket", "--endpoint", endpoint.name, "--bucket", bucket, stdout=out)
    assert "Indexed 30 objects (90 bytes)." in out.getvalue() and "keys" in out.getvalue()
    out = StringIO()
    call_command("index_status", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if bucket in x)
    assert "fresh" in line and " 30 " in line and "done 30" in line


def test_index_for_every_bucket_of_an_endpoint(endpoint, make_bucket, seaweed):
    names = [make_bucket("all") for _ in range(2)]
    for name in names:
        fast_client(seaweed).put_object(Bucket=name, Key="x", Body=b"1")
    done = index.index_enable_endpoint(actor=ACTOR, endpoint=endpoint)
    assert set(names) <= {i.bucket for i in done}
    assert Counter(e.action for e in AuditEvent.objects.filter(action="index.enable"))["index.enable"] == len(done)


def class_sums(indexed: IndexedBucket) -> dict[tuple[str, str], list[int]]:
    indexed.refresh_from_db()
    rows = ClassStat.objects.filter(indexed=indexed, generation=indexed.stats_generation, count__gt=0)
    return {(r.top, r.storage_class): [r.count, r.bytes] for r in rows}


def entry_class_sums(indexed: IndexedBucket) -> dict[tuple[str, str], list[int]]:
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for key, size, storage_class in Entry.objects.filter(indexed=indexed).values_list("key", "size", "storage_class"):
        for prefix in stats.prefixes_of(key):
            sums[prefix, storage_class][0] += 1
            sums[prefix, storage_class][1] += size
    return dict(sums)


def test_storage_classes_are_summed_for_every_folder_and_follow_changes(crawled, admin_client):
    indexed, _ = crawled
    assert class_sums(indexed) == entry_class_sums(indexed)  # after the crawl: every folder, every depth
    endpoint, bucket = indexed.endpoint, indexed.bucket
    follow.object_stored(
        endpoint=endpoint, bucket=bucket, key="logs/2026/deep/new.log", size=70, storage_class="GLACIER"
    )
    follow.object_reclassed(endpoint=endpoint, bucket=bucket, key="logs/2026/00/app.log", storage_class="STANDARD_IA")
    follow.objects_removed(endpoint=endpoint, bucket=bucket, keys=["logs/2026/01/app.log"])
    assert class_sums(indexed) == entry_class_sums(indexed)
    assert class_sums(indexed)["logs/2026/", "GLACIER"] == [1, 70]
    # A folder's analytics page reads its breakdown: no sum over the entries.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    page = reverse("catalog_analytics", args=[endpoint.pk, bucket]) + "?prefix=logs/2026/"
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(page)
    assert response.status_code == 200 and "GLACIER" in response.content.decode()
    assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"] and "catalog_entry" in q["sql"]]


@pytest.mark.django_db(transaction=True)
def test_the_migration_to_per_folder_class_sums_sums_every_folder(endpoint):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("catalog", "0002_substring_search")])
    old = executor.loader.project_state([("catalog", "0002_substring_search")]).apps
    indexed = old.get_model("catalog", "IndexedBucket").objects.create(
        endpoint_id=endpoint.pk, bucket="migrated", generation=1, stats_generation=1
    )
    Entry_ = old.get_model("catalog", "Entry")
    for key, size, sc in (("a/b/one", 10, "STANDARD"), ("a/two", 5, "GLACIER"), ("three", 1, "STANDARD")):
        Entry_.objects.create(indexed=indexed, key=key, size=size, storage_class=sc, seen=1)
    old.get_model("catalog", "ClassStat").objects.create(
        indexed=indexed, generation=1, top="a/", storage_class="STANDARD", count=99, bytes=99
    )  # a row of the old meaning (the first path segment)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = IndexedBucket.objects.get(pk=indexed.pk)
    assert class_sums(migrated) == entry_class_sums(migrated) == {
        ("", "STANDARD"): [2, 11], ("", "GLACIER"): [1, 5], ("a/", "STANDARD"): [1, 10],
        ("a/", "GLACIER"): [1, 5], ("a/b/", "STANDARD"): [1, 10],
    }  # fmt: skip
