"""Periodic work: a schedule of django-tasks tasks, enqueued once per interval across every instance.

``@periodic("name", every=timedelta(...))`` registers a task function (a django-tasks ``@task``).
``manage.py console_scheduler`` (one process per host, or several: it is safe) wakes up every few
seconds and calls :func:`run_due`, which enqueues each due task for the current interval — once:
the slot is claimed with an INSERT that a unique constraint lets only one process win, on SQLite
and PostgreSQL alike. The task itself runs on a task worker (``manage.py console_worker``).

A schedule whose work depends on records (a re-crawl per bucket at its own interval, say) registers
a frequent task that looks up what is due itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    name: str
    every: timedelta
    task: object  # a django-tasks Task (has .enqueue())

    def slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.every.total_seconds())


SCHEDULES: dict[str, Schedule] = {}


def periodic(name: str, *, every: timedelta) -> Callable:
    """Register a django-tasks task to be enqueued every ``every`` (decorate the task object)."""

    def register(task):
        SCHEDULES[name] = Schedule(name, every, task)
        return task

    return register


def run_due(now: datetime | None = None) -> list[str]:
    """Enqueue every schedule whose current slot no process has claimed yet; returns their names."""
    from console.models import ScheduledRun

    now = now or timezone.now()
    enqueued = []
    for schedule in SCHEDULES.values():
        slot = schedule.slot(now)
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(name=schedule.name, slot=slot)
        except IntegrityError:
            continue  # another scheduler process claimed this interval
        try:
            schedule.task.enqueue()
        except Exception:
            # Not queued: give the interval back, so that this process or another queues it at its next look.
            ScheduledRun.objects.filter(name=schedule.name, slot=slot).delete()
            log.exception("Could not enqueue %s (slot %s); tried again at the next look", schedule.name, slot)
            continue
        enqueued.append(schedule.name)
        log.info("Scheduled %s (interval %s, slot %s)", schedule.name, schedule.every, slot)
    ScheduledRun.objects.filter(created_at__lt=now - timedelta(days=7)).delete()
    return enqueued
