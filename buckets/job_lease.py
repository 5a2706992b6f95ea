"""The lease on a running job: taking a queued job, and the heartbeat that renews the lease while it runs.

A worker owns a job while ``lease_owner`` is its name and ``lease_expires_at`` lies ahead. It takes the
job with one conditional UPDATE (:func:`claim`), so two workers never both run it, and a heartbeat
thread (:func:`heartbeat`) renews the lease every ``JOB_LEASE_SECONDS / 4``. A lease that ran out is
taken over by ``buckets.job_recovery``; the writes that notice it (``LeaseLost``) are in ``buckets.jobs``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from buckets.models import Job, JobFailure

log = logging.getLogger(__name__)


def lease_seconds() -> float:
    return settings.JOB_LEASE_SECONDS


def beat_seconds() -> float:
    """How often a running job's lease is renewed, and how often workers look for lost jobs."""
    return settings.JOB_LEASE_SECONDS / 4


def new_owner() -> str:
    """A worker's name on the jobs it runs: host, process and a random part (a restarted process is another)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def claim(job_id: str, owner: str) -> Job | None:
    """Take a queued job: one conditional UPDATE, so two workers never both run it."""
    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, finished_at__isnull=True).update(
        status=Job.Status.RUNNING,
        lease_owner=owner,
        lease_expires_at=now + timedelta(seconds=lease_seconds()),
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not taken:
        return None
    job = Job.objects.select_related("endpoint").get(pk=job_id)
    fields: dict = {"started_at": job.started_at or now}
    if job.attempts > 1:  # resumed: the counters go back to the last checkpoint, where the work restarts
        counters = (job.checkpoint or {}).get("counters") or {}
        _forget_failures_after(job, counters.get("failed", 0))
        fields.update(
            done=counters.get("done", 0),
            failed=counters.get("failed", 0),
            done_bytes=counters.get("done_bytes", 0),
            errors=job.errors[: counters.get("errors", 0)],
        )
    Job.objects.filter(pk=job.pk, lease_owner=owner).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def _forget_failures_after(job: Job, kept: int) -> None:
    """The failures recorded after the checkpoint: the resumed run meets those entries again."""
    rows = JobFailure.objects.filter(job_id=job.pk)
    if kept:
        last = rows.order_by("id").values_list("id", flat=True)[kept - 1 : kept].first()
        rows = rows.filter(id__gt=last) if last is not None else rows.none()
    rows.delete()


@contextmanager
def heartbeat(job: Job, owner: str, lost: threading.Event) -> Iterator[None]:
    """Renew the lease from a thread every JOB_LEASE_SECONDS / 4 while the work runs.

    Not inside a transaction (a job run in the request by the immediate backend, as in tests): another
    connection cannot see, let alone renew, a lease that is not committed.
    """
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat, args=(job.pk, owner, stop, lost), name=f"job-heartbeat-{job.pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _beat(job_id, owner: str, stop: threading.Event, lost: threading.Event) -> None:
    try:
        while not stop.wait(beat_seconds()):
            now = timezone.now()
            try:
                renewed = Job.objects.filter(pk=job_id, lease_owner=owner).update(
                    lease_expires_at=now + timedelta(seconds=lease_seconds()), heartbeat_at=now
                )
                if not renewed and Job.objects.filter(pk=job_id).exclude(lease_owner=owner).exists():
                    lost.set()
                    return
            except DatabaseError as exc:  # the next beat tries again; the lease outlives a few misses
                log.warning("Heartbeat of job %s failed: %s", job_id, exc)
    finally:
        connection.close()
