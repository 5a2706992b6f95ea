"""Print each indexed bucket's state."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from catalog.models import IndexedBucket
from catalog.services.search import freshness


class Command(BaseCommand):
    help = "Each indexed bucket: its state, objects, bytes, last complete crawl and running job."

    def handle(self, *args, **options):
        rows = IndexedBucket.objects.select_related("endpoint", "last_job").order_by("endpoint__name", "bucket")
        if not rows:
            self.stdout.write("No bucket is indexed.")
            return
        self.stdout.write(f"{'ENDPOINT/BUCKET':40} {'STATE':9} {'OBJECTS':>12} {'BYTES':>16}  LAST CRAWL        JOB")
        for r in rows:
            when = f"{r.indexed_at:%Y-%m-%d %H:%M}" if r.indexed_at else "never"
            job = ""
            if r.last_job is not None:
                job = f"{r.last_job.status} {r.last_job.done:,}" + (
                    f"/{r.last_job.total:,}" if r.last_job.total else ""
                )
            name = f"{r.endpoint.name}/{r.bucket}"
            self.stdout.write(
                f"{name:40} {freshness(r):9} {r.object_count:>12,} {r.total_bytes:>16,}  {when:16}  {job}"
            )
