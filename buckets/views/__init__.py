"""The bucket list and its sync (the lead moves these to ``views/buckets.py``); one module per area beside it."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from buckets import s3
from buckets.models import Bucket
from buckets.services import buckets as bucket_services
from console import access, audit
from console.models import Endpoint, Role

BUCKETS_PER_PAGE = 100


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


@require_GET
def bucket_list(request):
    buckets = Bucket.objects.select_related("endpoint")
    visible = access.bucket_filter(request.user)
    if visible is not None:
        buckets = buckets.filter(visible)
    endpoint_id = request.GET.get("endpoint", "")
    if endpoint_id.isdigit():
        buckets = buckets.filter(endpoint_id=int(endpoint_id))
    query = request.GET.get("q", "").strip()
    if query:
        buckets = buckets.filter(name__icontains=query)
    endpoints = Endpoint.objects.all()
    if (ids := access.visible_endpoint_ids(request.user)) is not None:
        endpoints = endpoints.filter(pk__in=ids)
    page = Paginator(buckets, BUCKETS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "buckets": page.object_list,
        "endpoints": endpoints,
        "query": query,
        "endpoint_id": endpoint_id,
    }
    template = "buckets/bucket_list.html#bucket-table" if request.htmx else "buckets/bucket_list.html"
    return render(request, template, context)


@require_POST
def bucket_sync(request, endpoint_pk: int):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="buckets.sync", endpoint=endpoint)
    try:
        result = bucket_services.buckets_sync(actor=audit.Actor.from_request(request, role), endpoint=endpoint)
    except s3.S3Error as exc:
        messages.error(request, f"Could not list the buckets of “{endpoint.name}”: {exc.user_message}")
        return redirect("bucket_list")
    text = f"“{endpoint.name}”: {result.total} buckets."
    if result.added:
        text += f" New: {_names(result.added)}."
    if result.removed:
        text += f" No longer in S3, removed from the list: {_names(result.removed)}."
    messages.success(request, text)
    return redirect("bucket_list")
