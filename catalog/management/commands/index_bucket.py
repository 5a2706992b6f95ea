"""Crawl one bucket into the index in the foreground, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from buckets import jobs
from buckets.models import Job
from catalog.models import IndexedBucket
from catalog.services import crawl
from console.audit import Actor
from console.models import Endpoint

BAR = 30


class Command(BaseCommand):
    help = "Index one bucket now (ListObjectsV2 pages), showing progress; a worker resumes it if this dies."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", required=True, help="the endpoint's name")
        parser.add_argument("--bucket", required=True)
        parser.add_argument("--versions", action="store_true", help="also count noncurrent versions")
        parser.add_argument("--details", action="store_true", help="also index tags and user metadata")
        parser.add_argument("--rate", type=float, default=None, help="requests a second (default: the setting)")

    def handle(self, *args, endpoint: str, bucket: str, versions: bool, details: bool, rate, **options):
        try:
            ep = Endpoint.objects.get(name=endpoint)
        except Endpoint.DoesNotExist:
            raise CommandError(f"No endpoint named {endpoint!r}.")
        actor = Actor(user_id=None, username="manage.py index_bucket")
        indexed = IndexedBucket.objects.filter(endpoint=ep, bucket=bucket).first()
        if indexed is None or (versions, details, rate) != (indexed.with_versions, indexed.with_details, None):
            indexed, _ = IndexedBucket.objects.update_or_create(
                endpoint=ep, bucket=bucket,
                defaults={"with_versions": versions, "with_details": details, "requests_per_second": rate},
            )  # fmt: skip
        if (running := crawl.running(indexed)) is not None:
            raise CommandError(f"A crawl of {bucket} is already {running.status} (job {running.pk}).")
        job = crawl.index_crawl_start(actor=actor, indexed=indexed, foreground=True)
        listed = [0]

        def work(running_job: Job, progress) -> jobs.Outcome:
            advance = progress.advance

            def advance_and_show(count: int, nbytes: int = 0) -> None:
                advance(count, nbytes)
                listed[0] += count
                self._bar(listed[0], running_job.total)

            progress.advance = advance_and_show
            return crawl.run_crawl(running_job, progress)

        try:
            jobs.run(str(job.pk), work)
        finally:
            if self.stdout.isatty():
                self.stdout.write("")
        job.refresh_from_db()
        if job.status != Job.Status.DONE:
            raise CommandError(job.message or "The crawl did not finish.")
        self.stdout.write(self.style.SUCCESS(job.message))

    def _bar(self, done: int, total: int | None) -> None:
        if total:
            share = min(1.0, done / total)
            filled = int(share * BAR)
            line = f"[{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%} {done:,} of ~{total:,} keys"
        else:
            line = f"[{'#' * (done // 1000 % BAR)}] {done:,} keys listed"
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="")
        else:
            self.stdout.write(line)
