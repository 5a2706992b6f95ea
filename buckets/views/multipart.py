"""Incomplete multipart uploads of a bucket: list them (a page per call), abort one, abort all."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buckets import s3
from buckets.services import objects as object_services
from buckets.services.sections import Target
from buckets.views.browse import listing_of, seal_position, unseal_position
from buckets.views.common import actor, endpoint_or_404, key_param, s3_text, url_for
from console import access
from console.models import Role


@require_GET
def multipart_list(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="multipart.list", endpoint=endpoint, bucket=bucket)
    listing = listing_of("uploads", endpoint, bucket)
    position = unseal_position(request.GET.get("token", ""), listing)
    page = s3.list_uploads_page(endpoint=endpoint, bucket=bucket, **position)
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    following = page["next"] and seal_position(page["next"], listing)
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "uploads": [u for u in page["uploads"] if access.key_allowed(allowed, u["key"])],
        "paged": bool(position),
        "next_url": following and url_for("multipart_list", endpoint, bucket, token=following),
        "can_write": role.can_write,
    }
    return render(request, "buckets/objects/multipart_list.html", ctx)


@require_POST
def multipart_abort(request, endpoint_pk: int, bucket: str):
    endpoint, key, upload_id = endpoint_or_404(endpoint_pk), key_param(request), request.POST.get("upload_id", "")
    role = access.require_role(
        request, Role.OPERATOR, action="multipart.abort", endpoint=endpoint, bucket=bucket, key=key
    )
    try:
        object_services.multipart_abort(
            actor=actor(request, role), target=Target(endpoint, bucket, key), upload_id=upload_id
        )
        messages.success(request, "The upload was aborted and its parts deleted.")
    except s3.S3Error as exc:
        messages.error(request, s3_text(exc))
    return redirect(url_for("multipart_list", endpoint, bucket))


@require_http_methods(["GET", "POST"])
def multipart_abort_all(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.OPERATOR, action="multipart.abort_all", endpoint=endpoint, bucket=bucket)
    if request.method == "GET":
        return render(request, "buckets/objects/multipart_abort_all.html", {"endpoint": endpoint, "bucket": bucket})
    if request.POST.get("confirm") != bucket:
        messages.error(request, "Type the bucket name to confirm.")
        return redirect(url_for("multipart_abort_all", endpoint, bucket))
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    try:
        count = object_services.multipart_abort_all(
            actor=actor(request, role), target=Target(endpoint, bucket), allowed=allowed
        )
        messages.success(request, f"{count} incomplete uploads aborted.")
    except s3.S3Error as exc:
        messages.error(request, f"Stopped before all uploads were aborted: {s3_text(exc)}")
    return redirect(url_for("multipart_list", endpoint, bucket))
