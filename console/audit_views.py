"""Audit review: the filtered trail with keyset pages, one event's details, per bucket/object history, export.

Who sees which events (``visible_events``): global admins everything; everyone else the
events inside the scopes they hold a role on (an endpoint, a bucket, a key prefix — compared
with its case, on every database; a global non-admin role covers every endpoint's events),
plus their own events — never console administration (``ADMINISTRATION``: roles, users, groups,
endpoints, the directory mapping, sign-ins), and never other people's addresses (``hide_addresses``).
"""

from __future__ import annotations

import csv
import difflib
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import truncatechars
from django.template.loader import get_template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from console import access, audit_chain, rows, safejson
from console.models import AuditEvent, Endpoint, Role
from console.rows import esc

PAGE_SIZE = 50
# Console administration: who got which role, user and group changes, endpoint edits, the directory
# mapping, sign-ins (addresses, user agents, tried names), archiving the trail. For global admins only.
AUTH_PREFIX = "auth."  # sign-in events (their reason and user agent are shown on the row)
ADMINISTRATION = ("auth.", "role.", "user.", "group.", "endpoint.", "directory.", "audit.archive")
HISTORY_LIMIT = 20
EXPORT_CHUNK = 2000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# One row of the audit trail, rendered in Python (console/rows.py says why): every value is escaped.
EVENT_ROW = (
    '<tr>\n<td class="nowrap"><a href="{href}" title="Details of event {seq}">{when}</a></td>\n'
    '<td>{actor}{role}<div class="muted small">{ip}</div></td>\n<td><a href="{href}"><code>{action}</code></a></td>\n'
    '<td class="break">{where}</td>\n<td><span class="badge {outcome}">{outcome_text}</span>{error}</td>\n</tr>'
)
OUTCOMES = dict(AuditEvent.Outcome.choices)


def _where(e: AuditEvent) -> str:
    parts = [esc(e.endpoint_name)]
    if e.bucket:
        parts.append(f" / {esc(e.bucket)}")
    if e.key:
        parts.append(f' / <span class="mono">{esc(e.key)}</span>')
    if e.version_id:
        parts.append(f' <span class="muted small">v {esc(truncatechars(e.version_id, 16))}</span>')
    if e.action.startswith(AUTH_PREFIX):
        params = e.params if isinstance(e.params, dict) else {}
        source = f"{esc(params['source'])} " if params.get("source") else ""
        parts.append(f'<span class="small">{source}{esc(params.get("reason", ""))}</span>')
        if params.get("user_agent"):
            parts.append(f'<div class="muted small">{esc(truncatechars(params["user_agent"], 60))}</div>')
    return "".join(parts)


def _found_by(e: AuditEvent) -> str:
    """The badge of a change the drift check found (made outside the console)."""
    params = e.params if isinstance(e.params, dict) else {}
    if params.get("source") == "drift check":
        return ' <span class="badge warn" title="Found by the drift check">drift check</span>'
    return ""


def event_rows(events: list[AuditEvent]) -> str:
    tz, detail = rows.zone(), rows.url_maker("audit_detail", int_slot=True)
    out = [
        EVENT_ROW.format(
            href=detail(e.pk),
            seq=e.seq,
            when=rows.local(e.created_at, "%Y-%m-%d %H:%M:%S", tz),
            actor=esc(e.actor_name or "system"),
            role=(f' <span class="muted small">({esc(e.role)})</span>' if e.role else "") + _found_by(e),
            ip=esc(e.client_ip or ""),
            action=esc(e.action),
            where=_where(e),
            outcome=esc(e.outcome),
            outcome_text=esc(OUTCOMES.get(e.outcome, e.outcome)),
            error=f' <code class="small">{esc(e.error_code)}</code>' if e.error_code else "",
        )  # fmt: skip
        for e in events
    ]
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


EVENT_LINE = (
    '<p class="small"><span class="badge {outcome}">{outcome_text}</span>\n'
    '  <a href="{href}"><code>{action}</code></a> {where}\n  <br><span class="muted">{actor} · {ago}</span></p>'
)
# What the dashboard's lines show (the JSON before/after of a change stays in the database).
LINE_FIELDS = ("id", "outcome", "action", "bucket", "key", "actor_name", "created_at")


def event_lines(events: list[AuditEvent], empty: str) -> str:
    """The dashboard's short lines of events (recent, failed and denied), or the ``empty`` text."""
    if not events:
        return format_html('<p class="muted">{}</p>', empty)
    ago, detail = rows.ago_maker(), rows.url_maker("audit_detail", int_slot=True)
    out = [
        EVENT_LINE.format(
            outcome=esc(e.outcome),
            outcome_text=esc(OUTCOMES.get(e.outcome, e.outcome)),
            href=detail(e.pk),
            action=esc(e.action),
            actor=esc(e.actor_name or "system"),
            ago=esc(ago(e.created_at)),
            where=f'<span class="break">{esc(e.bucket)}{"/" + esc(e.key) if e.key else ""}</span>' if e.bucket else "",
        )  # fmt: skip
        for e in events
    ]
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def key_prefix(prefix: str) -> Q:
    """Keys starting with ``prefix``, case included. ``startswith`` is LIKE, which ignores ASCII case on
    SQLite (PostgreSQL's does not): the exact compare of the key's first characters keeps ``TEAM-A/`` out
    of ``team-a/`` everywhere, and the LIKE beside it keeps PostgreSQL's index range."""
    return Q(key__startswith=prefix) & Q(Exact(Substr("key", 1, len(prefix)), prefix))


def administration() -> Q:
    q = Q()
    for prefix in ADMINISTRATION:
        q |= Q(action__startswith=prefix)
    return q


def visible_events(user) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if access.is_global_admin(user):
        return events
    # access._assignments: the user's and their groups' assignments, cached for the request.
    q = Q(actor_id=user.pk)
    for a in access._assignments(user):
        if a.endpoint_id is None:
            q |= Q(endpoint_id__isnull=False)
        elif not a.bucket:
            q |= Q(endpoint_id=a.endpoint_id)
        elif not a.prefix:
            q |= Q(endpoint_id=a.endpoint_id, bucket=a.bucket)
        else:
            q |= Q(endpoint_id=a.endpoint_id, bucket=a.bucket) & key_prefix(a.prefix)
    # Console administration is for global admins, even one's own events of it (a denied attempt, a
    # sign-in: addresses, user agents, tried names).
    return events.filter(q).exclude(administration())


def hide_addresses(events, user):
    """The address of someone else's event is for global admins: blanked on the copies shown (the rows stay)."""
    if access.is_global_admin(user):
        return events
    for event in events:
        if event.actor_id != user.pk:
            event.client_ip = None
    return events


_FIELD_HTML: dict[tuple, str] = {}
FIELD_HTML_KEPT = 2000  # rendered filter fields kept per process (keys hold what users typed: bounded)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        required=False, max_length=150, label="Who", widget=forms.TextInput(attrs={"placeholder": "username"})
    )
    action = forms.CharField(
        required=False,
        max_length=64,
        label="Action starts with",
        widget=forms.TextInput(attrs={"placeholder": "bucket. or auth.login"}),
    )
    # Choices from one evaluated list (a ModelChoiceField queries again to render and to clean).
    endpoint = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None,
        error_messages={"invalid_choice": "Select a valid choice. That choice is not one of the available choices."},
    )  # fmt: skip
    bucket = forms.CharField(required=False, max_length=63)
    key = forms.CharField(
        required=False, max_length=1024, label="Key prefix", widget=forms.TextInput(attrs={"placeholder": "logs/2026/"})
    )
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *AuditEvent.Outcome.choices])
    ip = forms.GenericIPAddressField(required=False, label="Address", unpack_ipv4=True)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    SHOWN = ("actor", "action", "endpoint", "bucket", "key", "outcome", "ip", "date_from", "date_to")

    def __init__(self, data, *, user):
        super().__init__(data)
        visible = access.visible_endpoint_ids(user)
        endpoints = Endpoint.objects.order_by("name").values_list("pk", "name")
        choices = [("", "any"), *(endpoints if visible is None else endpoints.filter(pk__in=visible))]
        self.fields["endpoint"].choices = choices
        self._choices_key = tuple(choices)
        # Filtering by address would tell anyone else where each event came from: theirs only.
        self.own_addresses_only = not access.is_global_admin(user)
        self.user_pk = user.pk

    def fields_html(self) -> list[str]:
        """The shown fields, each through console/_field.html.

        A field's HTML depends only on the field, its value, its errors and (for the endpoint) its
        choices: rendered once per process for each of those (the unfiltered page, the usual filters)
        instead of through the form renderer's templates on every request (~0.5 ms a field).
        """
        template = get_template("console/_field.html")
        out = []
        for name in self.SHOWN:
            field = self[name]
            key = (name, repr(field.value()), tuple(field.errors), self._choices_key if name == "endpoint" else ())
            html = _FIELD_HTML.get(key)
            if html is None:
                html = template.render({"field": field})
                if len(_FIELD_HTML) < FIELD_HTML_KEPT:
                    _FIELD_HTML[key] = html
            out.append(html)
        return out

    def clean_cursor(self) -> tuple[datetime, int] | None:
        raw = self.cleaned_data["cursor"]
        if not raw:
            return None
        try:
            micros, _, pk = raw.partition(".")
            return EPOCH + timedelta(microseconds=int(micros)), int(pk)
        except (ValueError, OverflowError):
            raise forms.ValidationError("This page link is damaged; start again from the newest events.") from None

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” is before “From”.")
        return data

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """The events matching the filters (the cursor aside)."""
        data = self.cleaned_data
        exact = {
            "actor_name": data["actor"],
            "bucket": data["bucket"],
            "outcome": data["outcome"],
            "client_ip": data["ip"],
        }
        events = events.filter(**{name: value for name, value in exact.items() if value})
        if data["ip"] and self.own_addresses_only:
            events = events.filter(actor_id=self.user_pk)
        if data["action"]:
            events = events.filter(action__startswith=data["action"])
        if data["endpoint"]:
            events = events.filter(endpoint_id=data["endpoint"])
        if data["key"]:
            events = events.filter(key_prefix(data["key"]))
        if data["date_from"]:
            events = events.filter(created_at__gte=_start_of(data["date_from"]))
        if data["date_to"]:
            events = events.filter(created_at__lt=_start_of(data["date_to"] + timedelta(days=1)))
        return events


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def encode_cursor(event: AuditEvent) -> str:
    return f"{(event.created_at - EPOCH) // timedelta(microseconds=1)}.{event.pk}"


def older_than(events: QuerySet[AuditEvent], cursor: tuple[datetime, int]) -> QuerySet[AuditEvent]:
    """Keyset step: rows before (created_at, id) in page order.

    ``created_at <= t`` is the index range; the exclusion only drops the few rows of the
    same instant already shown. No OFFSET: a deep page costs what the first one does.
    """
    when, pk = cursor
    return events.filter(created_at__lte=when).exclude(created_at=when, id__gte=pk)


def _filter_form(request) -> AuditFilterForm:
    return AuditFilterForm(request.GET, user=request.user)


@require_GET
def audit_list(request):
    form = _filter_form(request)
    events, next_cursor = [], None
    if form.is_valid():
        matching = form.apply(visible_events(request.user)).order_by("-created_at", "-id")
        if form.cleaned_data["cursor"]:
            matching = older_than(matching, form.cleaned_data["cursor"])
        # The JSON before/after of a change is for its detail page, not the list.
        events = list(matching.defer("before", "after")[: PAGE_SIZE + 1])
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
    return render(request, "console/audit_list.html", context)


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
        raise Http404("No such endpoint.") from None
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


# --- export -------------------------------------------------------------------------

CSV_COLUMNS = ["id", *audit_chain.CONTENT_FIELDS, "hash"]
# A spreadsheet runs a cell starting with one of these as a formula; keys and names are user data.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        value = audit_chain.canonical(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_rows(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events:
        record = audit_chain.export_record(event)
        yield writer.writerow([_csv_cell(record[name]) for name in CSV_COLUMNS])


def _jsonl_rows(events):
    for event in events:
        yield audit_chain.canonical(audit_chain.export_record(event)) + "\n"


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
    return _export(request, "csv", "text/csv; charset=utf-8", _csv_rows)


@require_GET
def audit_export_jsonl(request):
    return _export(request, "jsonl", "application/jsonl; charset=utf-8", _jsonl_rows)


# --- before/after diff ----------------------------------------------------------------


def pretty_json(value: Any) -> str:
    """Readable JSON; a string that holds JSON (a policy document, say) is shown parsed."""
    if isinstance(value, str):
        try:
            parsed = safejson.loads(value, max_bytes=1024 * 1024)
        except safejson.JSONRefused:
            return value
        if isinstance(parsed, (dict, list)):
            value = parsed
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


DIFF_CLASSES = {"+": "add", "-": "del", "@": "hunk"}


def json_diff(before: Any, after: Any) -> list[tuple[str, str]]:
    """A unified diff of the pretty JSON as (css class, line); empty when nothing differs."""
    if before is None and after is None:
        return []
    old = pretty_json(before).splitlines() if before is not None else []
    new = pretty_json(after).splitlines() if after is not None else []
    lines = []
    for line in difflib.unified_diff(old, new, "before", "after", n=3, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        lines.append((DIFF_CLASSES.get(line[:1], ""), line))
    return lines
