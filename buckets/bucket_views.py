"""The bucket page and bucket creation."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from buckets import s3
from buckets.models import Bucket
from buckets.naming import bucket_name_errors, unique_bucket_name
from buckets.settings_forms import BucketCreateForm
from buckets.settings_views import SETTINGS, change_setting
from console import access, audit
from console.models import Endpoint, Role

CREATE_REFUSALS = {
    "BucketAlreadyExists": "That name is taken: bucket names are shared by every account of the S3 service.",
    "BucketAlreadyOwnedByYou": "This endpoint already has a bucket with that name.",
    "InvalidBucketName": "The S3 server rejected this name as invalid.",
    "InvalidLocationConstraint": "The S3 server does not accept this region here.",
    "IllegalLocationConstraintException": "The S3 server does not accept this region here.",
    "AccessDenied": "The endpoint's credentials may not create buckets.",
    "TooManyBuckets": "The account has reached its bucket limit.",
}


@require_GET
def bucket_detail(request, endpoint_pk: int, bucket: str):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="bucket.view", endpoint=endpoint, bucket=bucket)
    record = get_object_or_404(Bucket, endpoint=endpoint, name=bucket)
    if access.effective_role(request.user, endpoint=endpoint, bucket=bucket) is None:
        # A role on prefixes only: the bucket's settings are not theirs to see; their folders are.
        return redirect(reverse("object_list", args=[endpoint.pk, bucket]))
    sections = [
        {"slug": s.slug, "title": s.title, "url": reverse("bucket_setting", args=[endpoint.pk, bucket, s.slug])}
        for s in SETTINGS.values()
    ]
    try:
        history_url = reverse("audit_history") + "?" + urlencode({"endpoint": endpoint.pk, "bucket": bucket})
    except NoReverseMatch:
        history_url = ""
    context = {"endpoint": endpoint, "bucket": record, "role": role, "sections": sections, "history_url": history_url}
    return render(request, "buckets/bucket_detail.html", context)


def _admin_endpoints(user):
    ids = [e.pk for e in Endpoint.objects.all() if access.effective_role(user, endpoint=e) == Role.ADMIN]
    return Endpoint.objects.filter(pk__in=ids)


@require_http_methods(["GET", "POST"])
def bucket_create(request):
    if request.method == "POST":
        endpoint = get_object_or_404(Endpoint, pk=_int(request.POST.get("endpoint")))
        role = access.require_role(request, Role.ADMIN, action="bucket.create", endpoint=endpoint)
        form = BucketCreateForm(request.POST, endpoints=_admin_endpoints(request.user))
        if form.is_valid() and (response := _create(request, form, endpoint, role)):
            return response
        return render(request, "buckets/bucket_create.html", {"form": form}, status=422)
    endpoints = _admin_endpoints(request.user)
    if not endpoints.exists():
        access.require_role(request, Role.ADMIN, action="bucket.create")  # records the denial and refuses
    initial = {k: v for k, v in request.GET.items() if k in {"endpoint", "region", "tags", "name"}}
    initial.setdefault("endpoint", endpoints.first().pk)
    prefix = request.GET.get("prefix", "")
    if request.GET.get("generate"):
        initial["name"] = unique_bucket_name(prefix)
    form = BucketCreateForm(endpoints=endpoints, initial=initial)
    return render(request, "buckets/bucket_create.html", {"form": form, "prefix": prefix})


def _int(value) -> int:
    return int(value) if str(value).isdigit() else 0


def _create(request, form, endpoint: Endpoint, role: Role):
    """CreateBucket (audited, with the bucket record), then versioning and tags as their own audited changes."""
    data = form.cleaned_data
    name, region = data["name"], data["region"]
    actor = audit.Actor.from_request(request, role)
    params = {"name": name, "region": region, "object_lock": data["object_lock"]}
    params |= {"versioning": data["versioning"], "tags": data["tags"]}
    try:
        with audit.change(actor, "bucket.create", endpoint=endpoint, bucket=name, params=params) as ev:
            s3.create_bucket(endpoint=endpoint, bucket=name, region=region, object_lock=data["object_lock"])
            ev.after = {"name": name, "region": region or "us-east-1", "object_lock": data["object_lock"]}
    except s3.S3Error as exc:
        code = exc.code
        if code == "BucketAlreadyExists" and Bucket.objects.filter(endpoint=endpoint, name=name).exists():
            code = "BucketAlreadyOwnedByYou"  # SeaweedFS and others answer so for a bucket of your own
        form.add_error("name" if "Bucket" in code else None, CREATE_REFUSALS.get(code, exc.user_message))
        return None
    try:
        record = Bucket.objects.create(
            endpoint=endpoint, name=name, region=region or "us-east-1", created=timezone.now(), last_synced=None
        )
    except IntegrityError:
        record = Bucket.objects.get(endpoint=endpoint, name=name)
    problems = _initial_settings(request, record, endpoint, role, data)
    messages.success(request, f"Bucket “{name}” created.")
    for problem in problems:
        messages.warning(request, problem)
    return redirect("bucket_detail", endpoint.pk, name)


def _initial_settings(request, record: Bucket, endpoint: Endpoint, role: Role, data: dict) -> list[str]:
    problems = []
    steps = []
    if data["versioning"] and not data["object_lock"]:  # object lock turns versioning on by itself
        steps.append(("versioning", {"status": "Enabled"}, "Versioning could not be enabled"))
    if data["tags"]:
        steps.append(("tags", {"tags": data["tags"]}, "The tags could not be set"))
    for slug, values, failure in steps:
        spec = SETTINGS[slug]
        try:
            change_setting(
                request,
                spec,
                endpoint,
                record,
                role,
                spec.action(),
                values,
                lambda before, spec=spec, values=values: spec.write(endpoint, record.name, values, before),
            )
        except s3.S3Error as exc:
            problems.append(f"{failure}: {exc.user_message}")
    return problems


@require_GET
def bucket_name_suggest(request):
    """A generated name from the prefix: the name field for htmx, or the create form prefilled without JS."""
    if not request.htmx:
        return redirect(
            reverse("bucket_create") + "?" + urlencode({"prefix": request.GET.get("prefix", ""), "generate": 1})
        )
    if not _admin_endpoints(request.user).exists():
        raise PermissionDenied("Creating buckets needs the admin role on an endpoint.")
    name = unique_bucket_name(request.GET.get("prefix", ""))
    return render(request, "buckets/bucket_create.html#name-field", {"value": name, "errors": bucket_name_errors(name)})
