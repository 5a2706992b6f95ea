"""Empty a bucket, delete a bucket (admin, typed confirmation after a dry run), count its objects (operator)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from buckets import bucket_tasks, emptying, jobs, s3
from buckets.models import Job
from console import access, audit
from console.models import Endpoint, Role


@dataclass(frozen=True)
class Operation:
    kind: str  # the Job kind and the audit action
    verb: str  # "Empty" / "Delete", for titles and buttons
    task: object


EMPTY = Operation("bucket.empty", "Empty", bucket_tasks.empty_bucket_task)
DELETE = Operation("bucket.delete", "Delete", bucket_tasks.delete_bucket_task)


class ConfirmForm(forms.Form):
    confirm = forms.CharField(label="Type the bucket name to confirm", max_length=63, strip=True)

    def __init__(self, *args, bucket: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.bucket = bucket
        self.fields["confirm"].label = f"Type “{bucket}” to confirm"
        self.fields["confirm"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "data-confirm-value": bucket}
        )

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"] != self.bucket:
            raise forms.ValidationError("That is not the bucket's name. Nothing was deleted.")
        return self.cleaned_data["confirm"]


def _running_job(endpoint: Endpoint, bucket: str, kinds: tuple[str, ...]) -> Job | None:
    active = Job.objects.filter(endpoint=endpoint, bucket=bucket, kind__in=kinds)
    return active.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()


def _confirm_and_start(request, endpoint_pk: int, bucket: str, op: Operation):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    role = access.require_role(request, Role.ADMIN, action=op.kind, endpoint=endpoint, bucket=bucket)
    if running := _running_job(endpoint, bucket, (EMPTY.kind, DELETE.kind)):
        messages.info(request, "This bucket is already being emptied or deleted.")
        return redirect("job_detail", running.pk)
    form = ConfirmForm(request.POST if request.method == "POST" else None, bucket=bucket)
    if request.method == "POST" and form.is_valid():
        actor = audit.Actor.from_request(request, role)
        title = f"{op.verb} bucket {bucket}"
        job = jobs.start(op.task, kind=op.kind, title=title, actor=actor, endpoint=endpoint, bucket=bucket)
        return redirect("job_detail", job.pk)
    counts = error = None
    try:
        counts = emptying.dry_run(endpoint, bucket, limit=emptying.CONFIRM_COUNT_LIMIT)
    except s3.S3Error as exc:
        error = exc.user_message
    context = {"endpoint": endpoint, "bucket": bucket, "op": op, "form": form, "counts": counts, "error": error}
    return render(request, "buckets/bucket_empty_confirm.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def bucket_empty(request, endpoint_pk: int, bucket: str):
    return _confirm_and_start(request, endpoint_pk, bucket, EMPTY)


@require_http_methods(["GET", "POST"])
def bucket_delete(request, endpoint_pk: int, bucket: str):
    return _confirm_and_start(request, endpoint_pk, bucket, DELETE)


@require_POST
def bucket_count(request, endpoint_pk: int, bucket: str):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    role = access.require_role(request, Role.OPERATOR, action="bucket.count", endpoint=endpoint, bucket=bucket)
    if running := _running_job(endpoint, bucket, ("bucket.count",)):
        return redirect("job_detail", running.pk)
    actor = audit.Actor.from_request(request, role)
    job = jobs.start(
        bucket_tasks.count_objects_task,
        kind="bucket.count",
        title=f"Count objects in {bucket}",
        actor=actor,
        endpoint=endpoint,
        bucket=bucket,
    )
    return redirect("job_detail", job.pk)
