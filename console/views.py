from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buckets import s3
from buckets.models import Bucket
from console import access, audit, audit_rows, fragments, record_edits, services
from console.audit_visibility import visible_events
from console.forms import EndpointForm
from console.models import AuditEvent, Endpoint
from watch.models import Alert
from watch.services.panels import dashboard_panels

PUBLIC_ROWS = 8  # public buckets named on the dashboard; "All N" opens the rest in the bucket list


def _bucket_overview(user) -> dict:
    """Endpoints with their bucket counts, and the public buckets: three queries at most, no S3 call."""
    visible = access.visible_endpoint_ids(user)
    endpoints = Endpoint.objects.only("pk", "name", "url")  # what the card shows: no keys, no settings
    endpoints = list(endpoints if visible is None else endpoints.filter(pk__in=visible))
    buckets = Bucket.objects.all()
    if (bucket_q := access.bucket_filter(user)) is not None:
        buckets = buckets.filter(bucket_q)
    counts = {
        row["endpoint"]: row
        for row in buckets.order_by()
        .values("endpoint")
        .annotate(n=Count("id"), public=Count("id", filter=Q(is_public=True)))
    }
    for endpoint in endpoints:
        endpoint.bucket_count = counts[endpoint.pk]["n"] if endpoint.pk in counts else 0
    # The last known state, saved by the bucket page when it derives the indicator: no S3 call here.
    public_total = sum(row["public"] for row in counts.values())
    public = (
        buckets.filter(is_public=True)
        .select_related("endpoint")
        .only("endpoint_id", "name", "public_checked_at", "endpoint__name")
    )
    return {
        "endpoints": endpoints,
        "bucket_total": sum(row["n"] for row in counts.values()),
        "public_total": public_total,
        "public_buckets": list(public[:PUBLIC_ROWS]) if public_total else [],  # named only when there are some
    }


# The dashboard's two parts, each kept (console/fragments.py) under the records it shows: a sign-in's event
# builds the activity again, not the buckets' overview.
OVERVIEW_COUNTED = (Bucket.counted_as, Endpoint.counted_as)
ACTIVITY_COUNTED = (AuditEvent.counted_as, Alert.counted_as)
PARTS = "console/dashboard_content.html"
# Between a part's stats and its cards in its kept output: random per process, so no name shown can spell it.
SPLIT = secrets.token_hex(20)


@require_GET
def dashboard(request):
    """Counts and the latest rows of every kind: the buckets' overview and the activity, each with its stats and
    its cards, kept until one of their kinds of records changes."""
    user = request.user
    pieces = fragments.kept_contents(request, "dashboard", (), {
        "overview": (OVERVIEW_COUNTED, f"{PARTS}#overview", lambda: {**_bucket_overview(user), "split": SPLIT}),
        "activity": (ACTIVITY_COUNTED, f"{PARTS}#activity", lambda: {**_activity(user), "split": SPLIT}),
    })  # fmt: skip
    shown = {}
    for part, html in pieces.items():
        stats, cards = html.split(SPLIT, 1)
        # Halves of the template's output, escaped there.
        shown[f"{part}_stats"], shown[f"{part}_cards"] = mark_safe(stats), mark_safe(cards)  # noqa: S308
    return render(request, "console/dashboard.html", shown)


def _activity(user) -> dict:
    """The events the user may see: failed and denied in the last 24 h, the latest, and the drift and alert panels."""
    events = visible_events(user).order_by("-created_at", "-id").only(*audit_rows.LINE_FIELDS)
    problems = events.filter(created_at__gte=timezone.now() - timedelta(hours=24), outcome__in=["failed", "denied"])
    tally = problems.aggregate(
        failed=Count("id", filter=Q(outcome="failed")), denied=Count("id", filter=Q(outcome="denied"))
    )
    # Each list is read only when its count says it has rows (a quiet day costs no query for them).
    recent = list(events[:10])
    problem_list = list(problems[:10]) if tally["failed"] or tally["denied"] else []
    return {
        "recent_lines": audit_rows.event_lines(recent, "Nothing recorded yet."),
        "problem_lines": audit_rows.event_lines(problem_list, "None. All good."),
        "failed_count": tally["failed"],
        "denied_count": tally["denied"],
        **dashboard_panels(user, events),  # changed outside the console, alerts fired
    }


@require_GET
def endpoint_list(request):
    access.require_global_admin(request, action="endpoint.list")
    endpoints = Endpoint.objects.annotate(bucket_count=Count("buckets"))
    return render(request, "console/endpoint_list.html", {"endpoints": endpoints})


@require_http_methods(["GET", "POST"])
def endpoint_create(request):
    role = access.require_global_admin(request, action="endpoint.create")
    form = EndpointForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        actor = audit.Actor.from_request(request, role)
        endpoint = services.endpoint_create(actor=actor, endpoint=form.save(commit=False))
        messages.success(request, f"Endpoint “{endpoint.name}” added. Check the connection, then sync its buckets.")
        return redirect("endpoint_list")
    return render(request, "console/endpoint_form.html", {"form": form, "profiles": form.profiles})


@require_http_methods(["GET", "POST"])
def endpoint_edit(request, pk: int):
    role = access.require_global_admin(request, action="endpoint.edit")
    endpoint = get_object_or_404(Endpoint, pk=pk)
    initial = {"seen": record_edits.seen_token(record_edits.endpoint_state(endpoint))}
    form = EndpointForm(request.POST or None, request.FILES or None, instance=endpoint, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        actor = audit.Actor.from_request(request, role)
        saved = record_edits.save_unless_changed(
            form,
            lambda: services.endpoint_update(
                actor=actor, endpoint=form.save(commit=False), seen=form.cleaned_data["seen"]
            ),
        )
        if saved is not None:
            messages.success(request, f"Endpoint “{saved.name}” saved.")
            return redirect("endpoint_list")
        status = 409
    if request.method == "POST":
        endpoint.refresh_from_db()  # the form changed the instance: the page names the stored endpoint
    context = {"form": form, "endpoint": endpoint, "profiles": form.profiles}
    return render(request, "console/endpoint_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def endpoint_delete(request, pk: int):
    role = access.require_global_admin(request, action="endpoint.delete")
    endpoint = get_object_or_404(Endpoint.objects.annotate(bucket_count=Count("buckets")), pk=pk)
    if request.method == "POST":
        actor = audit.Actor.from_request(request, role)
        services.endpoint_delete(actor=actor, endpoint=endpoint)
        messages.success(request, f"Endpoint “{endpoint.name}” removed from the console. Nothing was deleted in S3.")
        return redirect("endpoint_list")
    return render(request, "console/endpoint_confirm_delete.html", {"endpoint": endpoint})


@require_POST
def endpoint_check(request, pk: int):
    access.require_global_admin(request, action="endpoint.check")
    endpoint = get_object_or_404(Endpoint, pk=pk)
    try:
        result, error = s3.check_connection(endpoint=endpoint), None
    except s3.S3Error as exc:
        result, error = None, exc
    context = {"endpoint": endpoint, "result": result, "error": error}
    return render(request, "console/endpoint_list.html#check-result", context)
