"""``manage.py db_worker``: django-tasks-db's worker, and it takes over the jobs of workers that died.

django-tasks-db (0.13) has no recovery of stalled tasks: a task whose worker was killed stays
"running" forever. This command (it replaces django-tasks-db's own, ``buckets`` being listed before
``django_tasks_db`` in INSTALLED_APPS) runs the same worker with a sweeper thread beside it: every
``JOB_LEASE_SECONDS / 4``, busy or idle, it queues again (or ends as failed) every job whose lease
expired (``buckets.job_recovery.recover_lost``). Its options are django-tasks-db's.
"""

from __future__ import annotations

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from buckets import job_recovery


class Command(db_worker.Command):
    help = "Run a database background worker that also takes over the jobs of workers that died."

    def handle(self, *args, **options):
        # With --reload, the parent process only restarts the child: the child sweeps.
        if not options.get("reload") or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            job_recovery.Sweeper().start()
        return super().handle(*args, **options)
