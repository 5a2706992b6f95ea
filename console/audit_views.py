"""Audit review: the filtered trail with keyset pages, one event's details, per bucket/object history, export.

Who sees which events is ``console.audit_visibility``; the filters and the cursor are ``audit_forms``;
the rows ``audit_rows``; the files ``audit_export``; the before/after diff ``audit_diff``.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from console import access, audit_chain, fragments
from console.audit_diff import json_diff, pretty_json
from console.audit_export import csv_rows, jsonl_rows
from console.audit_forms import AuditFilterForm, encode_cursor, older_than
from console.audit_rows import event_rows, row_events
from console.audit_visibility import hide_addresses, visible_events
from console.errors import NotFound
from console.models import AuditEvent, Endpoint, Role

PAGE_SIZE = 50
HISTORY_LIMIT = 20
EXPORT_CHUNK = 2000


def _filter_form(request) -> AuditFilterForm:
    return AuditFilterForm(request.GET, user=request.user)


# What the audit page shows (console/fragments.py keeps it under these): the events, the endpoint filter's names.
AUDIT_COUNTED = (AuditEvent.counted_as, Endpoint.counted_as)


@require_GET
def audit_list(request):
    """A page of the events the user may see, filtered; kept until an event is added or an endpoint changes."""
    content = fragments.kept_content(
        request, "audit_list", (sorted(request.GET.lists()),), AUDIT_COUNTED, "console/audit_list_content.html",
        lambda: _audit_context(request),
    )  # fmt: skip
    return render(request, "console/audit_list.html", {"content": content})


def _audit_context(request) -> dict:
    form = _filter_form(request)
    events, next_cursor = [], None
    if form.is_valid():
        matching = form.apply(visible_events(request.user)).order_by("-created_at", "-id")
        if form.cleaned_data["cursor"]:
            matching = older_than(matching, form.cleaned_data["cursor"])
        # The JSON before/after of a change is for its detail page, not the list.
        events = row_events(matching, PAGE_SIZE + 1)
        if len(events) > PAGE_SIZE:
            events = events[:PAGE_SIZE]
            next_cursor = encode_cursor(events[-1])
    hide_addresses(events, request.user)
    context = {
        "form": form,
        "filter_fields": form.fields_html(),
        "events": events,
        "event_rows": event_rows(events),
        "next_cursor": next_cursor,
        "page_size": PAGE_SIZE,
    }
    return context


@require_GET
def audit_detail(request, pk: int):
    event = get_object_or_404(visible_events(request.user), pk=pk)
    hash_ok = audit_chain.compute_hash(event) == event.hash  # over the row as stored
    hide_addresses([event], request.user)
    context = {
        "event": event,
        "params": pretty_json(event.params) if event.params else "",
        "diff": json_diff(event.before, event.after),
        "before": pretty_json(event.before) if event.before is not None else "",
        "after": pretty_json(event.after) if event.after is not None else "",
        "hash_ok": hash_ok,
    }
    return render(request, "console/audit_detail.html", context)


@require_GET
def audit_history(request):
    """Who changed this bucket/object, when, and what: the latest events, as an htmx partial."""
    try:
        endpoint = get_object_or_404(Endpoint, pk=int(request.GET.get("endpoint", "")))
    except ValueError:
        raise NotFound("No such endpoint.") from None
    bucket, key = request.GET.get("bucket", ""), request.GET.get("key", "")
    if not bucket:
        return HttpResponseBadRequest("History needs a bucket.")
    access.require_role(request, Role.VIEWER, action="audit.history", endpoint=endpoint, bucket=bucket, key=key or None)
    events = visible_events(request.user).filter(endpoint_id=endpoint.pk, bucket=bucket)
    bucket_only = not key and request.GET.get("only") == "bucket"
    if key or bucket_only:
        events = events.filter(key=key)
    try:
        limit = min(max(int(request.GET.get("limit", HISTORY_LIMIT)), 1), 100)
    except ValueError:
        limit = HISTORY_LIMIT
    context = {
        "events": hide_addresses(list(events.order_by("-created_at", "-id")[:limit]), request.user),
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "bucket_only": bucket_only,
        "limit": limit,
    }
    return render(request, "console/_history.html", context)


def _export(request, extension: str, content_type: str, rows):
    form = _filter_form(request)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid filters: " + "; ".join(e for errs in form.errors.values() for e in errs))
    # Oldest first, streamed in chunks: the file can hold millions of events, the memory never does.
    events = form.apply(visible_events(request.user)).order_by("created_at", "id").iterator(chunk_size=EXPORT_CHUNK)
    # Streamed one by one, so the addresses are blanked as they pass (a blanked row's hash no longer
    # verifies: exports that verify are a global admin's).
    events = (hide_addresses([e], request.user)[0] for e in events)
    response = StreamingHttpResponse(rows(events), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{extension}"'
    return response


@require_GET
def audit_export_csv(request):
    return _export(request, "csv", "text/csv; charset=utf-8", csv_rows)


@require_GET
def audit_export_jsonl(request):
    return _export(request, "jsonl", "application/jsonl; charset=utf-8", jsonl_rows)
