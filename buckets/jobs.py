"""Background jobs: a Job row for progress, a django-tasks task for the work.

A task is thin (HackSoft style): it loads the Job, calls a service function with a
``Progress`` to report to, and records the outcome. Views start jobs with :func:`start`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import F
from django.utils import timezone

from buckets.models import Job
from console import audit
from console.models import Endpoint

MAX_ERRORS_KEPT = 200


def start(
    task,
    *,
    kind: str,
    title: str,
    actor: audit.Actor,
    endpoint: Endpoint,
    bucket: str = "",
    prefix: str = "",
    params: dict | None = None,
    total: int | None = None,
) -> Job:
    """Create the Job row and enqueue ``task(job_id)``. The row is committed first (autocommit)."""
    job = Job.objects.create(
        kind=kind,
        title=title,
        endpoint=endpoint,
        bucket=bucket,
        prefix=prefix,
        params=params or {},
        actor_id=actor.user_id,
        actor_data=actor.to_json(),
        total=total,
    )
    task.enqueue(str(job.pk))
    job.refresh_from_db()
    return job


class Progress:
    """What a running job reports; each call is one UPDATE so the page can poll it."""

    def __init__(self, job: Job):
        self.job = job

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor.from_json(self.job.actor_data)

    def set_total(self, total: int) -> None:
        Job.objects.filter(pk=self.job.pk).update(total=total)
        self.job.total = total

    def advance(self, count: int, nbytes: int = 0) -> None:
        Job.objects.filter(pk=self.job.pk).update(done=F("done") + count, done_bytes=F("done_bytes") + nbytes)

    def fail(self, errors: list[dict]) -> None:
        """Entries that could not be processed: counted, and the first ones kept with their reason."""
        if not errors:
            return
        self.job.refresh_from_db(fields=["errors"])
        kept = (self.job.errors + errors)[:MAX_ERRORS_KEPT]
        Job.objects.filter(pk=self.job.pk).update(failed=F("failed") + len(errors), errors=kept)

    def note(self, message: str) -> None:
        Job.objects.filter(pk=self.job.pk).update(message=message)


def run(job_id: str, work: Callable[[Job, Progress], str]) -> None:
    """Run ``work(job, progress)`` for a queued job; its return value is the final message."""
    job = Job.objects.select_related("endpoint").get(pk=job_id)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now())
    try:
        message = work(job, Progress(job))
    except Exception as exc:  # the job row must say it failed, whatever the cause
        from buckets.s3 import S3Error

        text = exc.user_message if isinstance(exc, S3Error) else f"{type(exc).__name__}: {exc}"
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=f"Stopped: {text}"
        )
        raise
    job.refresh_from_db(fields=["failed"])
    status = Job.Status.FAILED if job.failed else Job.Status.DONE
    Job.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), message=message)
