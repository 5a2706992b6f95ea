from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from buckets import s3
from buckets.services import buckets as bucket_services
from console.audit import Actor
from console.models import Endpoint


class Command(BaseCommand):
    help = "Sync bucket records from ListBuckets for every endpoint (or the named ones)."

    def add_arguments(self, parser):
        parser.add_argument("endpoints", nargs="*", help="endpoint names; all when none given")

    def handle(self, *args, endpoints, **options):
        queryset = Endpoint.objects.all()
        if endpoints:
            queryset = queryset.filter(name__in=endpoints)
            missing = set(endpoints) - set(queryset.values_list("name", flat=True))
            if missing:
                raise CommandError(f"No endpoint named: {', '.join(sorted(missing))}")
        actor = Actor(user_id=None, username="manage.py sync_buckets")
        failed = False
        for endpoint in queryset:
            try:
                result = bucket_services.buckets_sync(actor=actor, endpoint=endpoint)
            except s3.S3Error as exc:
                failed = True
                self.stderr.write(f"{endpoint.name}: {exc.user_message}")
                continue
            self.stdout.write(
                f"{endpoint.name}: {result.total} buckets, {len(result.added)} new, {len(result.removed)} removed"
            )
        if failed:
            raise CommandError("Some endpoints could not be synced.")
