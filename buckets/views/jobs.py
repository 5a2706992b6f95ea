"""A background job's page: its progress, outcome and the keys it could not process."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from buckets.models import Job
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
    template = "buckets/job_detail.html#job-progress" if request.htmx else "buckets/job_detail.html"
    return render(request, template, {"job": job})
