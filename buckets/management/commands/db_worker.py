"""``manage.py db_worker`` (and its name ``console_worker``): django-tasks-db's worker, plus
a heartbeat that /healthz reads and a sweeper that takes over the jobs of workers that died.

django-tasks-db (0.13) has no recovery of stalled tasks: a task whose worker was killed stays
"running" forever. This command (it replaces django-tasks-db's own, ``buckets`` being listed before
``django_tasks_db`` in INSTALLED_APPS) runs the same worker with two threads beside it:

- the sweeper: every ``JOB_LEASE_SECONDS / 4``, busy or idle, it queues again (or ends as failed)
  every job whose lease expired (``buckets.job_recovery.recover_lost``);
- the heartbeat: a row touched every ``WORKER_HEARTBEAT_INTERVAL`` seconds (``console.health``).

Its options are django-tasks-db's.
"""

from __future__ import annotations

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from buckets import job_recovery
from console import health


class Command(db_worker.Command):
    help = "Run the background-task worker: it records its heartbeat and takes over the jobs of dead workers."

    def handle(self, *args, **options):
        # With --reload, the parent process only restarts the child: the child works.
        if options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)
        job_recovery.Sweeper().start()
        heartbeat = health.Heartbeat(options["worker_id"])
        heartbeat.start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
