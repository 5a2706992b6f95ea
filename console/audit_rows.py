"""The audit trail's rows and the dashboard's short lines of events, rendered in Python (console/rows.py
says why): every value is escaped."""

from __future__ import annotations

from types import SimpleNamespace

from django.db.models import QuerySet
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from console import rows
from console.models import AuditEvent
from console.rows import esc

AUTH_PREFIX = "auth."  # sign-in events (their reason and user agent are shown on the row)


# One row of the audit trail.
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


# What a row of the trail reads (and the page's cursor, and hide_addresses): not the JSON before/after.
ROW_FIELDS = ("id", "seq", "created_at", "actor_id", "actor_name", "role", "client_ip", "endpoint_name", "bucket",
              "key", "version_id", "action", "params", "outcome", "error_code")  # fmt: skip


def row_events(events: QuerySet[AuditEvent], limit: int) -> list[SimpleNamespace]:
    """The first ``limit`` events as plain rows of ROW_FIELDS (with ``pk``): a third of the cost of models."""
    return [SimpleNamespace(pk=row["id"], **row) for row in events.values(*ROW_FIELDS)[:limit]]


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
