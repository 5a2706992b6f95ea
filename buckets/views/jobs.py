"""The progress page of a background job (polled by htmx while the job runs); pause, resume and cancel of a
bulk job, and its result report as CSV."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from buckets import job_recovery
from buckets.models import Bucket, Job
from buckets.services import bulk
from buckets.views.common import actor
from console import access
from console.audit_export import Echo, csv_cell
from console.models import Role


def _started_by(job: Job, request) -> bool:
    return job.actor_id is not None and job.actor_id == request.user.pk


def _viewed_job(request, pk) -> Job:
    """Viewer on what the job works on: a job of the whole bucket (or of another prefix) lists keys a
    prefix-scoped user may not see. Whoever started the job may follow it."""
    job = get_object_or_404(Job.objects.select_related("endpoint"), pk=pk)
    key = job.prefix if job.bucket and not _started_by(job, request) else None
    access.require_role(request, Role.VIEWER, action="job.view", endpoint=job.endpoint, bucket=job.bucket, key=key)
    return job


@require_GET
def job_detail(request, pk):
    job = _viewed_job(request, pk)
    if job_recovery.recover(job):  # its worker died: queued again (or failed) now rather than at the next sweep
        job.refresh_from_db()
    # A finished job whose bucket is no longer known (it deleted it, or a later job did) links to none of it.
    gone = (
        bool(job.bucket)
        and not job.is_active
        and not Bucket.objects.filter(endpoint=job.endpoint, name=job.bucket).exists()
    )
    context = {
        "job": job, "waiting": job_recovery.is_waiting_long(job), "bound": job_recovery.recovery_bound(),
        "max_attempts": settings.JOB_MAX_ATTEMPTS, "bulk": bulk.is_bulk(job), "bucket_gone": gone,
    }  # fmt: skip
    template = "buckets/job_detail.html#job-progress" if request.htmx else "buckets/job_detail.html"
    return render(request, template, context)


def _controlled_job(request, pk, action: str) -> tuple[Job, Role]:
    """Whoever started the job may pause, resume or cancel it; others need operator on what it works on."""
    job = get_object_or_404(Job.objects.select_related("endpoint"), pk=pk)
    need = Role.VIEWER if _started_by(job, request) else Role.OPERATOR
    key = job.prefix if job.bucket else None
    role = access.require_role(request, need, action=action, endpoint=job.endpoint, bucket=job.bucket, key=key)
    return job, role


# What pausing, resuming and cancelling call, and what they say when done or when there was nothing to do.
CONTROLS = {
    "pause": (
        bulk.job_pause,
        "Pausing: the job stops at its next checkpoint (within a second or so).",
        "The job is not running.",
    ),
    "resume": (bulk.job_resume, "Resumed: it goes on from where it paused.", "The job is not paused."),
    "cancel": (
        bulk.job_cancel,
        "Cancelled: what was done stays done; nothing more is processed.",
        "The job has already ended.",
    ),
}


@require_POST
def job_control(request, pk, verb: str):
    """Pause, resume or cancel a bulk job (``verb`` comes from the URL)."""
    service, done, not_done = CONTROLS[verb]
    job, role = _controlled_job(request, pk, f"job.{verb}")
    if not bulk.is_bulk(job):
        messages.error(request, "Only bulk jobs can be paused or cancelled.")
    elif service(actor=actor(request, role), job=job):
        messages.success(request, done)
    else:
        messages.info(request, not_done)
    return redirect("job_detail", pk=job.pk)


REPORT_COLUMNS = ["result", "key", "version_id", "code", "message"]


@require_GET
def job_report(request, pk):
    """The job's result as CSV: a summary line (what it did), then every entry that failed and why."""
    job = _viewed_job(request, pk)
    response = StreamingHttpResponse(_report_rows(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}.csv"'
    return response


def _report_rows(job: Job):
    writer = csv.writer(Echo())
    yield writer.writerow(REPORT_COLUMNS)
    summary = f"{job.get_status_display()}: {job.done} done, {job.failed} failed. {job.message}".strip()
    yield writer.writerow([csv_cell(v) for v in ("summary", job.title, "", "", summary)])
    for failure in job.failures.order_by("id").iterator(chunk_size=2000):
        row = ("failed", failure.key, failure.version_id, failure.code, failure.message)
        yield writer.writerow([csv_cell(v) for v in row])
