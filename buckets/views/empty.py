"""Empty a bucket, delete a bucket (admin, typed confirmation after a dry run), count its objects (operator)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from buckets import s3
from buckets.forms.empty import ConfirmBucketForm
from buckets.services import emptying
from console import access, audit
from console.models import Endpoint, Role


@dataclass(frozen=True)
class Operation:
    kind: str  # the Job kind and the audit action
    verb: str  # "Empty" / "Delete", for titles and buttons
    start: object  # the service that starts the job


EMPTY = Operation(emptying.EMPTY, "Empty", emptying.bucket_empty_start)
DELETE = Operation(emptying.DELETE, "Delete", emptying.bucket_delete_start)


def _confirm_and_start(request, endpoint_pk: int, bucket: str, op: Operation):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    role = access.require_role(request, Role.ADMIN, action=op.kind, endpoint=endpoint, bucket=bucket)
    if running := emptying.running_job(endpoint=endpoint, bucket=bucket):
        messages.info(request, "This bucket is already being emptied or deleted.")
        return redirect("job_detail", running.pk)
    form = ConfirmBucketForm(request.POST if request.method == "POST" else None, bucket=bucket)
    if request.method == "POST" and form.is_valid():
        job = op.start(actor=audit.Actor.from_request(request, role), endpoint=endpoint, bucket=bucket)
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
    role = access.require_role(request, Role.OPERATOR, action=emptying.COUNT, endpoint=endpoint, bucket=bucket)
    if running := emptying.running_job(endpoint=endpoint, bucket=bucket, kinds=(emptying.COUNT,)):
        return redirect("job_detail", running.pk)
    job = emptying.bucket_count_start(actor=audit.Actor.from_request(request, role), endpoint=endpoint, bucket=bucket)
    return redirect("job_detail", job.pk)
