"""The dashboard's two panels: changes made outside the console, and alerts fired."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from console import access, audit_rows
from console.models import AuditEvent
from watch.models import Alert, Delivery
from watch.services.drift import EXTERNAL, OUTSIDE

PANEL_ROWS = 8


def dashboard_panels(user, events: QuerySet[AuditEvent]) -> dict:
    """From the events the user may see; alerts (which span every scope) for global admins only."""
    day = timezone.now() - timedelta(hours=24)
    outside = events.filter(actor_name=OUTSIDE.username, action__endswith=EXTERNAL)
    outside_rows = list(outside.only(*audit_rows.LINE_FIELDS)[:PANEL_ROWS])
    week = timezone.now() - timedelta(days=7)
    panels = {
        "outside_lines": audit_rows.event_lines(outside_rows, "Nothing seen by the drift check."),
        # No newest row at all: nothing in the last week either, and no query to say so.
        "outside_count": outside.filter(created_at__gte=week).count() if outside_rows else 0,
        "show_alerts": access.is_global_admin(user),
    }
    if panels["show_alerts"]:
        alerts = Alert.objects.exclude(rule_name="Test")
        dead = Delivery.objects.filter(alert=OuterRef("pk"), status=Delivery.Status.DEAD)
        panels["alerts_fired"] = list(alerts.annotate(undelivered=Exists(dead))[:PANEL_ROWS])
        panels["alerts_count"] = alerts.filter(created_at__gte=day).count() if panels["alerts_fired"] else 0
    return panels
