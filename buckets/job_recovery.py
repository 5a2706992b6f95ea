"""Jobs whose worker died (SIGKILL, out of memory, host gone): taken over, for every kind of job alike.

A running job's worker renews its lease (``buckets.job_lease``); a job whose lease ran out is lost.
:func:`recover_lost` finds them and puts each back in the queue with its task (any worker resumes it
from its checkpoint) or, once it has been started ``JOB_MAX_ATTEMPTS`` times, ends it as failed with its
one outcome event. Every worker process runs it every ``JOB_LEASE_SECONDS / 4`` (``manage.py db_worker``,
ours: :class:`Sweeper`), so a lost job is taken over within ``1.25 × JOB_LEASE_SECONDS`` of its worker's
last heartbeat, whether or not anyone looks at it; the pages that find such a job do it at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from buckets.job_lease import beat_seconds, lease_seconds
from buckets.jobs import JobFailed, finish
from buckets.models import Job
from console.models import Endpoint

log = logging.getLogger(__name__)


def recovery_bound() -> float:
    """At most this long after its worker's last heartbeat, a lost job is queued again or failed."""
    return lease_seconds() + beat_seconds()


def is_lost(job: Job, now: datetime | None = None) -> bool:
    """Running, but its worker stopped renewing the lease."""
    if job.status != Job.Status.RUNNING:
        return False
    now = now or timezone.now()
    if job.lease_expires_at is None:  # a job from before leases: counted from its start
        return (job.started_at or job.created_at) < now - timedelta(seconds=lease_seconds())
    return job.lease_expires_at < now


def is_waiting_long(job: Job) -> bool:
    """Never started, and no worker took it for longer than a lost job takes to be noticed: does one run?"""
    long_ago = timezone.now() - timedelta(seconds=recovery_bound())
    return job.status == Job.Status.QUEUED and not job.attempts and job.created_at < long_ago


def recover(job: Job, now: datetime | None = None) -> bool:
    """Take over a job whose worker died: queue it again to resume, or end it as failed. True if done here."""
    now = now or timezone.now()
    if not is_lost(job, now):
        return False
    if job.attempts - job.pauses >= settings.JOB_MAX_ATTEMPTS or not job.task_path:  # a resume is no loss
        heard = job.heartbeat_at or job.started_at or job.created_at
        total = f" of {job.total:,}" if job.total is not None else ""
        failure = JobFailed(
            "WorkerLost",
            f"The worker running this job stopped answering (last heard at {heard:%H:%M:%S} UTC), "
            f"{job.attempts} time(s); it is not started again.",
        )
        message = (
            f"Stopped: {failure.message} Done: {job.done:,}{total}; the rest was not processed. "
            "Start it again to continue."
        )
        return finish(job, owner=job.lease_owner, failure=failure, message=message, expired_before=now)
    with transaction.atomic():
        lost = Q(pk=job.pk, status=Job.Status.RUNNING, lease_owner=job.lease_owner, finished_at__isnull=True)
        lost &= Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
        queued = Job.objects.filter(lost).update(
            status=Job.Status.QUEUED,
            lease_owner="",
            lease_expires_at=None,
            message="Its worker stopped answering: waiting for a worker to resume it from its last checkpoint…",
        )
        if queued:  # in the same transaction: the job is never queued without its task
            import_string(job.task_path).enqueue(str(job.pk))
    if queued:
        log.warning("Job %s lost its worker (%s); queued to resume.", job.pk, job.lease_owner or "unknown")
        _close_stale_task_results(job)
    return bool(queued)


def _close_stale_task_results(job: Job) -> None:
    """The task result of the dead worker stays "running" in django-tasks-db (it has no recovery): close it."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(status="RUNNING", task_path=job.task_path, args_kwargs__args__0=str(job.pk)).update(
        status="FAILED",
        finished_at=timezone.now(),
        exception_class_path="buckets.jobs.LeaseLost",
        traceback="Its worker stopped answering; the job was taken over (see the console's job page).",
    )


def recover_lost() -> int:
    """Take over every running job whose lease expired, and every stranded queued one; how many."""
    now = timezone.now()
    stale = Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    lost = Job.objects.select_related("endpoint").filter(stale, status=Job.Status.RUNNING)
    taken = sum(recover(job, now) for job in lost)
    waiting = Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=now - timedelta(seconds=recovery_bound()))
    return taken + sum(_requeue_stranded(job, now) for job in waiting.exclude(task_path=""))


def _requeue_stranded(job: Job, now: datetime) -> bool:
    """A queued job whose task a worker took and then died with, before it could take the job's lease:
    nothing would ever run it again. A job that merely waits for a free worker has its task ready."""
    from django_tasks_db.models import DBTaskResult

    results = DBTaskResult.objects.filter(task_path=job.task_path, args_kwargs__args__0=str(job.pk))
    recent = Q(status="READY") | Q(status="RUNNING", started_at__gte=now - timedelta(seconds=recovery_bound()))
    if results.filter(recent).exists() or not results.filter(status="RUNNING").exists():
        return False
    _close_stale_task_results(job)
    import_string(job.task_path).enqueue(str(job.pk))
    log.warning("Job %s was taken by a worker that stopped before starting it; queued again.", job.pk)
    return True


def active_job(*, endpoint: Endpoint, bucket: str, kinds: tuple[str, ...]) -> Job | None:
    """The queued or running job of these kinds on the bucket, after taking over any whose worker died."""
    jobs = Job.objects.select_related("endpoint").filter(
        endpoint=endpoint, bucket=bucket, kind__in=kinds, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    )
    for job in jobs:
        recover(job)
    return jobs.all().first()  # a fresh query: the loop's rows may have ended


class Sweeper(threading.Thread):
    """Every JOB_LEASE_SECONDS / 4, as long as the process lives: take over the jobs of workers that died."""

    def __init__(self):
        super().__init__(name="job-sweeper", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                if taken := recover_lost():
                    log.info("Took over %d job(s) whose worker stopped answering.", taken)
            except Exception:  # the sweeper must outlive a database hiccup
                log.exception("Looking for lost jobs failed; trying again in %.0f s.", beat_seconds())
            finally:
                close_old_connections()
            if self.stopped.wait(beat_seconds()):
                return
