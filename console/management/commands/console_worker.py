"""The background-task worker: django-tasks-db's db_worker plus a heartbeat that /healthz reads."""

from __future__ import annotations

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from console import health


class Command(DbWorkerCommand):
    help = "Run the background-task worker (db_worker's options) and record its heartbeat for /healthz."

    def handle(self, *args, **options):
        # With --reload the first process only watches files; the child it starts runs the worker.
        if options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)
        heartbeat = health.Heartbeat(options["worker_id"])
        heartbeat.start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
