"""``manage.py drift_check [--endpoint NAME] [--bucket NAME]``: one drift pass, in the foreground."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from buckets import s3
from console.models import Endpoint
from watch.services import drift


class Command(BaseCommand):
    help = "Compare every bucket's settings with the last snapshot; record changes made outside the console."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", help="only this endpoint (its name)")
        parser.add_argument("--bucket", help="only this bucket (needs --endpoint)")

    def handle(self, *args, endpoint: str | None, bucket: str | None, **options):
        endpoints = Endpoint.objects.all()
        if bucket and not endpoint:
            raise CommandError("--bucket needs --endpoint.")
        if endpoint:
            endpoints = endpoints.filter(name=endpoint)
            if not endpoints.exists():
                raise CommandError(f"No endpoint is named “{endpoint}”.")
        with s3.time_budget(settings.S3_JOB_CALL_BUDGET, per_call=True):
            result = drift.drift_check(endpoints=endpoints, bucket=bucket or "", trigger="command")
        run = result.run
        for event in result.events:
            self.stdout.write(f"{event.endpoint_name}/{event.bucket}: {event.action}")
        for what, reason in run.unchecked:
            self.stdout.write(f"Could not check {what}: {reason}")
        self.stdout.write(f"{run.buckets_checked} buckets checked, {run.changes} changed outside the console.")
