"""The bucket list (100 rows of 1,000 records) and the dashboard against the floor page, on PostgreSQL.

The floor (bench/floor_urls.py) is a logged-in page that renders only the base layout; every page is
measured in turns with it, in one process, through the production WSGI handler (DEBUG=0, the cached
template loader, connections kept). Goals: each page ≤ 1.6× the floor; the bucket list with 1,000
records costs what it does with 100 (a page shows 100 rows).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/s3console_bench .venv/bin/python bench/bench_bucket_list.py

The database is the audit bench's (bench_audit.py; the dashboard reads its events if it filled them).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_audit import bench_database_url, ensure_database  # noqa: E402
from bench.common import FLOOR_PATH, Browser, built_again, check, interleaved_medians, setup_django, superuser  # noqa: E402

GOAL = 1.6
ENDPOINT = "bench-list"


def ensure_buckets(total: int) -> None:
    """`total` bucket records on one endpoint: some public, some counted, so every branch of a row renders."""
    from datetime import timedelta

    from django.utils import timezone

    from buckets.models import Bucket
    from console.models import Endpoint

    endpoint = Endpoint.objects.get_or_create(name=ENDPOINT, defaults={"url": "http://127.0.0.1:9"})[0]
    if Bucket.objects.filter(endpoint=endpoint).count() == total:
        return
    Bucket.objects.filter(endpoint=endpoint).delete()
    now = timezone.now()
    Bucket.objects.bulk_create([
        Bucket(
            endpoint=endpoint, name=f"bucket-{i:04d}", region="us-east-1" if i % 3 else "",
            created=now - timedelta(days=i), last_synced=now - timedelta(minutes=i),
            is_public=i % 10 == 0, public_checked_at=now - timedelta(hours=i) if i % 10 == 0 else None,
            counted_at=now - timedelta(hours=1) if i % 2 else None, object_count=i * 1234, total_bytes=i * 10**7,
        )
        for i in range(total)
    ])  # fmt: skip


def bench_with_buckets(total: int = 1000):
    """Django on the bench database with ``total`` bucket records: (a logged-in Browser, their endpoint)."""
    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    ensure_buckets(total)
    from console.models import Endpoint

    return Browser(superuser()), Endpoint.objects.get(name=ENDPOINT)


def event_added(fn):
    """``fn`` after an audit event's counter moved (console/generations.py), as writing an event moves it."""

    def call():
        from console import generations
        from console.models import AuditEvent

        generations.changed(AuditEvent.counted_as)
        return fn()

    return call


def main() -> None:
    browser, endpoint = bench_with_buckets()
    one_page = f"/buckets/?endpoint={endpoint.pk}"
    assert browser.get(one_page).count(b"<tr>") >= 100
    times = interleaved_medians({
        "floor": lambda: browser.get(FLOOR_PATH),
        "bucket list": lambda: browser.get(one_page),
        "bucket list, filtered": lambda: browser.get(f"/buckets/?endpoint={endpoint.pk}&q=bucket-0"),
        "dashboard": lambda: browser.get("/"),
    })  # fmt: skip
    # Kept until what they show changes (console/fragments.py): the cost of building them again, measured
    # apart (each such load empties what the pages above keep).
    again = interleaved_medians({
        "floor": lambda: browser.get(FLOOR_PATH),
        "bucket list": built_again(lambda: browser.get(one_page)),
        "dashboard": built_again(lambda: browser.get("/")),
    })  # fmt: skip
    # The dashboard is kept in two parts (console/views.py): after an audit event (every sign-in writes one)
    # only its activity is built again. The event's counter is raised as a written event raises it.
    after_event = interleaved_medians({
        "floor": lambda: browser.get(FLOOR_PATH),
        "dashboard": event_added(lambda: browser.get("/")),
    })  # fmt: skip
    floor = times.pop("floor")
    check("bucket list, 100 rows of 1,000 records vs the floor page", times["bucket list"], floor, at_most=GOAL)
    check("bucket list, name filter, 100 rows vs the floor page", times["bucket list, filtered"], floor, at_most=GOAL)
    check("dashboard vs the floor page", times["dashboard"], floor, at_most=GOAL)
    check("bucket list, built again (a record changed), vs the floor page", again["bucket list"], again["floor"],
          at_most=GOAL)  # fmt: skip
    check("dashboard, built again (every part), vs the floor page", again["dashboard"], again["floor"],
          at_most=GOAL)  # fmt: skip
    check("dashboard after an event (its activity built again), vs the floor page", after_event["dashboard"],
          after_event["floor"], at_most=GOAL)  # fmt: skip


if __name__ == "__main__":
    main()
