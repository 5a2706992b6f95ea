"""The catalog's tasks: thin wrappers over its services (``buckets.jobs.run`` for the jobs), and the
periodic ones (``console.scheduler``): re-crawls when due, and the daily snapshot of every index.
"""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from buckets import jobs
from catalog.services import crawl, inventory, stats
from console.scheduler import periodic


@task()
def index_crawl(job_id: str) -> None:
    jobs.run(job_id, crawl.run_crawl)


@task()
def index_inventory(job_id: str) -> None:
    jobs.run(job_id, inventory.run_load)


@periodic("catalog.recrawl_due", every=timedelta(minutes=5))
@task()
def index_recrawl_due() -> None:
    """Each indexed bucket is re-crawled at its own interval: this looks for the ones that are due."""
    crawl.start_due()


@periodic("catalog.snapshots", every=timedelta(hours=6))
@task()
def index_snapshots() -> None:
    """Today's totals of every indexed bucket (the growth chart has a point a day even without crawls)."""
    from catalog.models import IndexedBucket

    for indexed in IndexedBucket.objects.filter(state=IndexedBucket.State.FRESH):
        stats.snapshot(indexed)


@task()
def multipart_abort_old(job_id: str) -> None:
    from catalog.services import uploads

    jobs.run(job_id, uploads.run_abort_old)
