"""The progress page of a background job (polled by htmx while the job runs)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from buckets import job_recovery
from buckets.models import Bucket, Job
from console import access
from console.models import Role


@require_GET
def job_detail(request, pk):
    job = get_object_or_404(Job.objects.select_related("endpoint"), pk=pk)
    # Viewer on what the job works on: a job of the whole bucket (or of another prefix) lists keys a
    # prefix-scoped user may not see. Whoever started the job may follow it.
    mine = job.actor_id is not None and job.actor_id == request.user.pk
    key = job.prefix if job.bucket and not mine else None
    access.require_role(request, Role.VIEWER, action="job.view", endpoint=job.endpoint, bucket=job.bucket, key=key)
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
        "max_attempts": settings.JOB_MAX_ATTEMPTS, "bucket_gone": gone,
    }  # fmt: skip
    template = "buckets/job_detail.html#job-progress" if request.htmx else "buckets/job_detail.html"
    return render(request, template, context)
