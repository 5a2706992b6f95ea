"""The scheduler enqueues each periodic task once per interval, however many scheduler processes run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils.module_loading import autodiscover_modules

from console import scheduler
from console.models import ScheduledRun


class CountingTask:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def enqueue(self, *args, **kwargs):
        with self.lock:
            self.count += 1


@pytest.fixture
def schedule(monkeypatch):
    task = CountingTask()
    # The apps' tasks modules register into the real schedule first: imported for the first time while the
    # stand-in below is in place (the command autodiscovers them), they would be missing from it afterwards.
    autodiscover_modules("tasks")
    monkeypatch.setattr(scheduler, "SCHEDULES", {})
    scheduler.periodic("test.every-minute", every=timedelta(minutes=1))(task)
    return task


@pytest.mark.django_db
def test_once_per_interval(schedule):
    start = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    assert scheduler.run_due(start) == ["test.every-minute"]
    assert scheduler.run_due(start + timedelta(seconds=30)) == []  # the same minute: already claimed
    assert scheduler.run_due(start + timedelta(seconds=60)) == ["test.every-minute"]
    assert schedule.count == 2 and ScheduledRun.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_several_schedulers_at_once_enqueue_once(schedule):
    now = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    barrier = threading.Barrier(4)

    def scheduler_process():
        try:
            barrier.wait()
            scheduler.run_due(now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler_process) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert schedule.count == 1 and ScheduledRun.objects.filter(name="test.every-minute").count() == 1


@pytest.mark.django_db
def test_the_command_once(schedule, capsys):
    call_command("console_scheduler", "--once")
    assert schedule.count == 1 and "Enqueued test.every-minute" in capsys.readouterr().out


class FailingOnceTask(CountingTask):
    def enqueue(self, *args, **kwargs):
        if not getattr(self, "failed", False):
            self.failed = True
            raise ConnectionError("the task queue is unreachable")
        super().enqueue()


@pytest.mark.django_db
def test_an_interval_that_could_not_be_queued_is_queued_at_the_next_look(monkeypatch):
    task = FailingOnceTask()
    monkeypatch.setattr(scheduler, "SCHEDULES", {})
    scheduler.periodic("test.flaky", every=timedelta(minutes=15))(task)
    now = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    assert scheduler.run_due(now) == [] and task.count == 0
    assert not ScheduledRun.objects.exists()  # the interval was given back
    assert scheduler.run_due(now + timedelta(seconds=5)) == ["test.flaky"] and task.count == 1
    assert scheduler.run_due(now + timedelta(seconds=10)) == []


@pytest.mark.django_db
def test_the_command_outlives_a_database_outage(schedule, monkeypatch, capsys):
    from django.db import OperationalError

    from console.management.commands import console_scheduler

    stopped = threading.Event()
    looks = []
    real = scheduler.run_due

    def run_due():
        looks.append(1)
        if len(looks) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        stopped.set()
        return real()

    monkeypatch.setattr(console_scheduler, "stop_on_signals", lambda: stopped)
    monkeypatch.setattr(scheduler, "run_due", run_due)
    monkeypatch.setattr(console_scheduler, "close_old_connections", lambda: None)  # the test's connection stays
    call_command("console_scheduler", "--interval", "0.01")
    assert len(looks) == 2 and schedule.count == 1 and "Enqueued test.every-minute" in capsys.readouterr().out
