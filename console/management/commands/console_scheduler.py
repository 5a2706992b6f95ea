"""Enqueue the periodic tasks (console.scheduler) when they are due; safe to run on several hosts."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils.module_loading import autodiscover_modules

from console import scheduler
from console.management.stopping import stop_on_signals

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the schedule of periodic tasks (drift checks, index re-crawls…); the worker runs them."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between looks at the schedule")
        parser.add_argument("--once", action="store_true", help="enqueue what is due now, then exit")

    def handle(self, *args, interval: float, once: bool, **options):
        autodiscover_modules("tasks")  # each app's tasks module registers its periodic tasks
        stopped = stop_on_signals()
        names = ", ".join(f"{s.name} every {s.every}" for s in scheduler.SCHEDULES.values()) or "nothing yet"
        self.stdout.write(f"Scheduler: {names}.")
        while not stopped.is_set():
            try:
                for name in scheduler.run_due():
                    self.stdout.write(f"Enqueued {name}.")
            except DatabaseError as exc:  # the database is down or restarting: look again later, don't exit
                if once:
                    raise
                log.warning("The scheduler could not reach the database (%s); trying again", exc)
            if once:
                return
            deadline = time.monotonic() + interval
            while not stopped.is_set() and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
            close_old_connections()  # a long-lived process: drop a connection the database closed
